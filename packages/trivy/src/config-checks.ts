/**
 * trivy's misconfiguration findings -> ConfigAuditReport checks, as trivy-operator v0.32 makes
 * them (pkg/configauditreport/controller: filter and getCheck; pkg/policy: GetResultID and
 * HasSeverity): title = the rule's title, description = its description, messages = [the
 * finding's message], remediation = its resolution, category "Kubernetes Security Check",
 * success = passed. Infra checks (KCV*) are kept: which report they belong to (an
 * InfraAssessmentReport, never a config audit) is decided where the owner is known
 * (@fleetscan/reports partitionInfraChecks).
 */
import type { Check, Severity } from '@fleetscan/reports';
import { toSeverity } from './severity.ts';

/** One check's outcome for one manifest, from the audit worker (or from trivy's JSON). */
export interface ConfigFinding {
  /** The rule's ID in its metadata: `KSV-0003`. */
  id: string;
  /** The rule's aliases: `AVD-KSV-0003`, `KSV003`, `drop-default-capabilities`. trivy's JSON lacks them. */
  aliases?: readonly string[] | undefined;
  title?: string | undefined;
  description?: string | undefined;
  message?: string | undefined;
  resolution?: string | undefined;
  severity: string;
  status: 'FAIL' | 'PASS' | 'EXCEPTION';
}

/** How checks are named: see @fleetscan/bus' CHECK_ID_FORMATS (declared apart so running trivy needs no message contract). */
export type CheckIdFormat = 'short' | 'trivy-operator';

export interface ConfigCheckOptions {
  /** Default `short`. */
  checkIds?: CheckIdFormat | undefined;
  /** Report only these; every severity if unset or empty. */
  severities?: readonly Severity[] | undefined;
}

export const CHECK_CATEGORY = 'Kubernetes Security Check';

/**
 * The short ID of one of trivy's Kubernetes checks: `KSV-0003` -> `KSV003`, `KSV-0125` ->
 * `KSV125`, `KSV-01010` -> `KSV1010` (prefix, then the number without leading zeros, at least
 * three digits). Undefined for any other ID (a custom check's), which is reported as it is.
 */
export function shortCheckId(id: string): string | undefined {
  const m = /^(KSV|KCV)-(\d+)$/.exec(id);
  if (!m?.[1] || !m[2]) return undefined;
  return `${m[1]}${String(Number.parseInt(m[2], 10)).padStart(3, '0')}`;
}

/** The checkID a report shows for a finding. */
export function checkIdOf(f: Pick<ConfigFinding, 'id' | 'aliases'>, format: CheckIdFormat = 'short'): string {
  if (format === 'trivy-operator') return f.aliases?.[0] ?? f.id;
  return shortCheckId(f.id) ?? f.id;
}

/** The report's checks for one manifest's findings, in the findings' order. */
export function toConfigChecks(findings: readonly ConfigFinding[], opts: ConfigCheckOptions = {}): Check[] {
  const severities = opts.severities && opts.severities.length > 0 ? new Set(opts.severities) : undefined;
  const checks: Check[] = [];
  for (const f of findings) {
    const check = toConfigCheck(f, opts.checkIds, severities);
    if (check) checks.push(check);
  }
  return checks;
}

function toConfigCheck(
  f: ConfigFinding,
  format: CheckIdFormat | undefined,
  severities: ReadonlySet<Severity> | undefined,
): Check | undefined {
  const severity = toSeverity(f.severity);
  if (severities && !severities.has(severity)) return undefined;
  const id = checkIdOf(f, format);
  // An excepted finding was waived on purpose: neither a failure nor a pass to report.
  if (f.status === 'EXCEPTION') return undefined;
  const success = f.status === 'PASS';
  // trivy-operator drops a failure without a message; a pass without one has no messages.
  if (!success && !f.message) return undefined;
  return {
    checkID: id,
    ...(f.title && { title: f.title }),
    ...(f.description && { description: f.description }),
    severity,
    category: CHECK_CATEGORY,
    ...(f.message && { messages: [f.message] }),
    ...(f.resolution && { remediation: f.resolution }),
    success,
  };
}
