import type { OwnerReportKind } from '@fleetscan/reports';
import { createInterner, type Interner } from './interner.ts';

/**
 * What a report says beyond its summary, kept only when asked for: the writer's opt-in
 * trivy-operator info metrics read it (trivy_vulnerability_id, trivy_image_info,
 * trivy_exposedsecrets_info, trivy_configaudits_info, trivy_rbacassessments_info,
 * trivy_infraassessments_info), and its k8s_label_* labels read the report
 * labels named here. Everything is kept once however many reports say it (interner.ts): reports
 * of one image in many namespaces share their findings.
 */
export interface ReportDetailOptions {
  /** Report label keys kept, in this order (trivy-operator's `report.resourceLabels`). */
  readonly labels?: readonly string[];
  /** VulnerabilityReport: report.os. */
  readonly os?: boolean;
  /** VulnerabilityReport: each vulnerability's fields. */
  readonly vulnerabilities?: boolean;
  /** ExposedSecretReport: each secret's fields (not its match). */
  readonly secrets?: boolean;
  /**
   * The report kinds whose checks are kept, each check's fields but not its messages
   * (ConfigAuditReport, RbacAssessmentReport, InfraAssessmentReport: an info family each).
   */
  readonly checks?: readonly OwnerReportKind[];
}

/** A vulnerability as trivy-operator's collector reads it for trivy_vulnerability_id. */
export interface VulnerabilityDetail {
  readonly vulnerabilityID: string;
  readonly resource: string;
  readonly installedVersion: string;
  readonly fixedVersion: string;
  readonly publishedDate: string;
  readonly lastModifiedDate: string;
  /** As the report writes it (CRITICAL, …). */
  readonly severity: string;
  readonly title: string;
  /** Absent in the report: undefined. */
  readonly score: number | undefined;
  readonly target: string;
  readonly class: string;
  readonly packageType: string;
  /** Go field PkgPath, JSON `packagePath`. */
  readonly packagePath: string;
}

/** An exposed secret as trivy_exposedsecrets_info reads it. */
export interface SecretDetail {
  readonly category: string;
  readonly ruleID: string;
  readonly target: string;
  readonly title: string;
  readonly severity: string;
}

/** A check as trivy_configaudits_info (and the assessments' info families) read it. */
export interface CheckDetail {
  readonly checkID: string;
  readonly title: string;
  readonly description: string;
  readonly category: string;
  readonly severity: string;
  readonly success: boolean;
}

export interface OSDetail {
  readonly family: string;
  readonly name: string;
  readonly eosl: boolean;
}

/** The detail of one report; each field is there only when asked for and the report has it. */
export interface ReportDetail {
  /** The asked-for report labels the report has, in the asked-for order. */
  labels?: Readonly<Record<string, string>>;
  os?: OSDetail;
  /** Distinct by every field, in report order. */
  vulnerabilities?: readonly VulnerabilityDetail[];
  /** Distinct by every field, in report order. */
  secrets?: readonly SecretDetail[];
  /** The first check of each checkID, in report order (as trivy-operator's collector takes them). */
  checks?: readonly CheckDetail[];
}

interface Interners {
  labels: Interner<Readonly<Record<string, string>>>;
  os: Interner<OSDetail>;
  vulnerability: Interner<VulnerabilityDetail>;
  secret: Interner<SecretDetail>;
  check: Interner<CheckDetail>;
  vulnerabilities: Interner<readonly VulnerabilityDetail[]>;
  secrets: Interner<readonly SecretDetail[]>;
  checks: Interner<readonly CheckDetail[]>;
}

const EMPTY: readonly never[] = Object.freeze([]);
// Unit separator: cannot appear in what a key joins without making the key longer, so two different
// field lists never give one key.
const SEP = '\u001f';

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const rows = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];

/**
 * A projector of report detail for the given options, with its own interning tables (one per
 * inventory). Never throws: a report with odd content gets empty strings where it is odd.
 */
export function reportDetailProjector(opts: ReportDetailOptions) {
  const t: Interners = {
    labels: createInterner(),
    os: createInterner(),
    vulnerability: createInterner(),
    secret: createInterner(),
    check: createInterner(),
    vulnerabilities: createInterner(),
    secrets: createInterner(),
    checks: createInterner(),
  };
  const labelKeys = opts.labels ?? [];

  /** A list of interned values, itself interned by its values' ids. */
  function list<T extends object>(items: T[], own: Interner<T>, lists: Interner<readonly T[]>): readonly T[] {
    if (items.length === 0) return EMPTY;
    const key = items.map((x) => own.idOf(x)).join(',');
    return lists.intern(key, () => Object.freeze(items));
  }

  function vulnerabilities(report: Record<string, unknown>): readonly VulnerabilityDetail[] {
    const seen = new Set<VulnerabilityDetail>();
    for (const v of rows(report.vulnerabilities)) {
      const d: VulnerabilityDetail = {
        vulnerabilityID: str(v.vulnerabilityID),
        resource: str(v.resource),
        installedVersion: str(v.installedVersion),
        fixedVersion: str(v.fixedVersion),
        publishedDate: str(v.publishedDate),
        lastModifiedDate: str(v.lastModifiedDate),
        severity: str(v.severity),
        title: str(v.title),
        score: typeof v.score === 'number' && Number.isFinite(v.score) ? v.score : undefined,
        target: str(v.target),
        class: str(v.class),
        packageType: str(v.packageType),
        packagePath: str(v.packagePath),
      };
      const key = [...Object.values(d)].map((x) => (x === undefined ? '' : String(x))).join(SEP);
      seen.add(t.vulnerability.intern(`${d.score === undefined ? 'n' : 's'}${key}`, () => Object.freeze(d)));
    }
    return list([...seen], t.vulnerability, t.vulnerabilities);
  }

  function secrets(report: Record<string, unknown>): readonly SecretDetail[] {
    const seen = new Set<SecretDetail>();
    for (const s of rows(report.secrets)) {
      const d: SecretDetail = {
        category: str(s.category),
        ruleID: str(s.ruleID),
        target: str(s.target),
        title: str(s.title),
        severity: str(s.severity),
      };
      seen.add(t.secret.intern(Object.values(d).join(SEP), () => Object.freeze(d)));
    }
    return list([...seen], t.secret, t.secrets);
  }

  function checks(report: Record<string, unknown>): readonly CheckDetail[] {
    const ids = new Set<string>();
    const out: CheckDetail[] = [];
    for (const c of rows(report.checks)) {
      const checkID = str(c.checkID);
      if (ids.has(checkID)) continue;
      ids.add(checkID);
      const d: CheckDetail = {
        checkID,
        title: str(c.title),
        description: str(c.description),
        category: str(c.category),
        severity: str(c.severity),
        success: c.success === true,
      };
      out.push(t.check.intern(Object.values(d).map(String).join(SEP), () => Object.freeze(d)));
    }
    return list(out, t.check, t.checks);
  }

  return (
    kind: OwnerReportKind,
    metaLabels: Readonly<Record<string, string>>,
    report: Record<string, unknown> | undefined,
  ): ReportDetail | undefined => {
    const out: ReportDetail = {};
    if (labelKeys.length > 0) {
      const kept: Record<string, string> = {};
      for (const k of labelKeys) {
        const v = metaLabels[k];
        if (v !== undefined) kept[k] = v;
      }
      const entries = Object.entries(kept);
      if (entries.length > 0)
        out.labels = t.labels.intern(entries.flat().join(SEP), () => Object.freeze(kept));
    }
    if (report) {
      if (kind === 'VulnerabilityReport') {
        if (opts.os && typeof report.os === 'object' && report.os !== null) {
          const os = report.os as Record<string, unknown>;
          const d: OSDetail = { family: str(os.family), name: str(os.name), eosl: os.eosl === true };
          out.os = t.os.intern(`${d.family}${SEP}${d.name}${SEP}${d.eosl}`, () => Object.freeze(d));
        }
        if (opts.vulnerabilities) out.vulnerabilities = vulnerabilities(report);
      }
      if (kind === 'ExposedSecretReport' && opts.secrets) out.secrets = secrets(report);
      if (opts.checks?.includes(kind)) out.checks = checks(report);
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
}

export type ReportDetailProjector = ReturnType<typeof reportDetailProjector>;

/** Whether any detail is asked for (none: reports are projected as before). */
export function wantsDetail(opts: ReportDetailOptions | undefined): boolean {
  return (
    !!opts &&
    ((opts.labels?.length ?? 0) > 0 ||
      !!opts.os ||
      !!opts.vulnerabilities ||
      !!opts.secrets ||
      (opts.checks?.length ?? 0) > 0)
  );
}
