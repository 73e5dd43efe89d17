import {
  CONFIG_AUDIT_REPORT,
  EXPOSED_SECRET_REPORT,
  type OwnerReportKind,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';

/**
 * The state fleetscan promises, checked from outside: every report owner has exactly one current
 * report per kind and container, and no report belongs to anything that is not a current owner.
 * Pure: fleet-read.ts gathers the views from the API server.
 */

/** A report owner as the API shows it now (trivy-operator's owner rules applied). */
export interface OwnerView {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  /** resource-spec-hash of its pod spec, as the reports must carry it. */
  specHash: string;
  containers: readonly { name: string; image: string }[];
  /**
   * Images of its containers whose scans fail: the owner carries a ScanFailed Event for each (the
   * writer writes no report for a failed scan).
   */
  failingImages?: ReadonlySet<string>;
}

/** A report as its metadata shows it. */
export interface ReportView {
  kind: OwnerReportKind;
  namespace: string;
  name: string;
  /** The controller ownerReference. */
  owner?: { kind: string; name: string; uid: string };
  /** trivy-operator.container.name (per-container reports). */
  container?: string;
  /** resource-spec-hash label. */
  specHash?: string;
  /**
   * fleetscan.io/scan-error: an error report an older writer left (no findings: it looks clean).
   * A problem (stale) wherever it is found: failed scans make no report now.
   */
  scanError?: string;
}

export type ProblemKind = 'missing' | 'stale' | 'duplicate' | 'orphan';

export interface Problem {
  problem: ProblemKind;
  /** `<kind>/<namespace>/<name>` of the owner (missing, stale, duplicate) or of the report (orphan). */
  subject: string;
  /** Report kind and, for per-container reports, the container. */
  what: string;
  detail: string;
}

export interface FleetCheck {
  owners: number;
  /** Reports the owners must have. */
  expected: number;
  /** Of those, present exactly once and current. */
  current: number;
  /**
   * Reports not there because the image's scan failed, told by a ScanFailed Event on the owner
   * (counted in `expected`, not in `current`, and no problem: a failure is not a clean report).
   */
  failing: number;
  problems: Problem[];
  /** How many problems of each kind. */
  counts: Record<ProblemKind, number>;
}

export interface CheckOptions {
  /** Secret scanning on: one ExposedSecretReport per container is expected too. */
  secrets?: boolean;
}

const key = (uid: string, kind: string, container = '') => `${uid}\u0000${kind}\u0000${container}`;

/** Checks `reports` against `owners`; both must cover the same namespaces. */
export function checkFleet(
  owners: readonly OwnerView[],
  reports: readonly ReportView[],
  opts: CheckOptions = {},
): FleetCheck {
  const byKey = new Map<string, ReportView[]>();
  for (const r of reports) {
    if (!r.owner) continue;
    const k = key(r.owner.uid, r.kind, r.kind === CONFIG_AUDIT_REPORT.kind ? '' : r.container);
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  const problems: Problem[] = [];
  const claimed = new Set<ReportView>();
  let expected = 0;
  let current = 0;
  let failing = 0;
  for (const o of owners) {
    const subject = `${o.kind}/${o.namespace}/${o.name}`;
    const wants: { kind: OwnerReportKind; container?: string }[] = [{ kind: CONFIG_AUDIT_REPORT.kind }];
    for (const c of o.containers) {
      wants.push({ kind: VULNERABILITY_REPORT.kind, container: c.name });
      if (opts.secrets) wants.push({ kind: EXPOSED_SECRET_REPORT.kind, container: c.name });
    }
    for (const want of wants) {
      expected++;
      const what = want.container ? `${want.kind} of container ${want.container}` : want.kind;
      const found = byKey.get(key(o.uid, want.kind, want.container)) ?? [];
      for (const r of found) claimed.add(r);
      if (found.length === 0) {
        const image = o.containers.find((c) => c.name === want.container)?.image;
        if (image !== undefined && o.failingImages?.has(image)) failing++;
        else problems.push({ problem: 'missing', subject, what, detail: 'no report' });
        continue;
      }
      if (found.length > 1) {
        problems.push({
          problem: 'duplicate',
          subject,
          what,
          detail: `${found.length} reports: ${found.map((r) => r.name).join(', ')}`,
        });
        continue;
      }
      const r = found[0] as ReportView;
      if (r.specHash !== o.specHash) {
        problems.push({
          problem: 'stale',
          subject,
          what,
          detail: `${r.name} has spec hash ${r.specHash ?? '(none)'}, the owner ${o.specHash}`,
        });
        continue;
      }
      if (r.scanError !== undefined) {
        problems.push({
          problem: 'stale',
          subject,
          what,
          detail: `${r.name} is an error report without findings (${r.scanError.slice(0, 100)}): it looks clean`,
        });
        continue;
      }
      current++;
    }
  }
  for (const r of reports) {
    if (claimed.has(r)) continue;
    problems.push({
      problem: 'orphan',
      subject: `${r.kind}/${r.namespace}/${r.name}`,
      what: r.kind,
      detail: r.owner
        ? `owned by ${r.owner.kind}/${r.owner.name} (${r.owner.uid}), which is not a current report owner${r.container ? ` with container ${r.container}` : ''}`
        : 'no controller owner reference',
    });
  }
  const counts: Record<ProblemKind, number> = { missing: 0, stale: 0, duplicate: 0, orphan: 0 };
  for (const p of problems) counts[p.problem]++;
  return { owners: owners.length, expected, current, failing, problems, counts };
}

/** Every owner has its reports, each exactly once and current, and nothing else is there. */
export const isConverged = (c: FleetCheck) => c.problems.length === 0;

/** One line: `12 owners, 24/24 reports current, 0 missing, 0 stale, 0 duplicates, 0 orphans`. */
export function describeCheck(c: FleetCheck): string {
  return (
    `${c.owners} owners, ${c.current}/${c.expected} reports current` +
    `${c.failing ? `, ${c.failing} failing to scan` : ''}, ${c.counts.missing} missing, ` +
    `${c.counts.stale} stale, ${c.counts.duplicate} duplicates, ${c.counts.orphan} orphans`
  );
}
