/**
 * Summary counters, computed as trivy-operator does:
 *  - vulnerabilities: pkg/plugins/trivy/plugin.go vulnerabilitySummary: CRITICAL/HIGH/MEDIUM/LOW
 *    counted by name, every other severity counts as unknown; noneCount is left 0.
 *  - exposed secrets: pkg/plugins/trivy/plugin.go secretSummary: CRITICAL/HIGH/MEDIUM/LOW.
 *  - config audit: pkg/apis/aquasecurity/v1alpha1/config_audit_types.go ConfigAuditSummaryFromChecks:
 *    successful checks are skipped, failed ones counted by severity (others ignored). RBAC and
 *    infra assessments count the same way (RbacAssessmentSummaryFromChecks,
 *    InfraAssessmentSummaryFromChecks).
 *  - SBOM: pkg/sbomreport/io.go BomSummary: the components plus one (the image itself, the BOM's
 *    metadata.component), and the dependency entries.
 */
import type {
  Bom,
  ConfigAuditSummary,
  ExposedSecretSummary,
  SbomSummary,
  VulnerabilitySummary,
} from './schemas.ts';

type SeverityCounts = Pick<VulnerabilitySummary, 'criticalCount' | 'highCount' | 'mediumCount' | 'lowCount'>;
const COUNT_OF: Readonly<Record<string, keyof SeverityCounts>> = {
  CRITICAL: 'criticalCount',
  HIGH: 'highCount',
  MEDIUM: 'mediumCount',
  LOW: 'lowCount',
};

/** The four named severities counted into `s`; what is left is returned, as many as there were. */
function countInto(s: SeverityCounts, items: Iterable<{ readonly severity: string }>): number {
  let other = 0;
  for (const i of items) {
    const field = Object.hasOwn(COUNT_OF, i.severity) ? COUNT_OF[i.severity] : undefined;
    if (field) s[field]++;
    else other++;
  }
  return other;
}

export function vulnerabilitySummary(
  vulnerabilities: Iterable<{ readonly severity: string }>,
): VulnerabilitySummary {
  const s = { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 };
  const unknownCount = countInto(s, vulnerabilities);
  return { ...s, unknownCount, noneCount: 0 };
}

/** The four named severities; any other is not counted. */
function countFour(items: Iterable<{ readonly severity: string }>): ConfigAuditSummary {
  const s = { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 };
  countInto(s, items);
  return s;
}

export function exposedSecretSummary(secrets: Iterable<{ readonly severity: string }>): ExposedSecretSummary {
  return countFour(secrets);
}

export function configAuditSummary(
  checks: Iterable<{ readonly severity: string; readonly success: boolean }>,
): ConfigAuditSummary {
  const failed: { severity: string }[] = [];
  for (const c of checks) if (!c.success) failed.push(c);
  return countFour(failed);
}

/** RbacAssessmentSummaryFromChecks and InfraAssessmentSummaryFromChecks: the config audit's rule. */
export const assessmentSummary = configAuditSummary;

export function sbomSummary(bom: Pick<Bom, 'components' | 'dependencies'>): SbomSummary {
  return {
    componentsCount: (bom.components?.length ?? 0) + 1,
    dependenciesCount: bom.dependencies?.length ?? 0,
  };
}
