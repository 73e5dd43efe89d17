import type { SecretDetail } from '@fleetscan/inventory';
import type { ReportFamily } from './family.ts';
import { type FamilyReports, findingInfoFamily, severityCountFamily } from './family-shapes.ts';
import { severityLabel } from './labels.ts';
import {
  IMAGE_LABELS,
  imageLabelValues,
  type ReportSource,
  reportsOf,
  SEVERITY_COUNTS_NO_UNKNOWN,
} from './source.ts';

/**
 * ExposedSecretReport families (collector.go): trivy_image_exposedsecrets (always) and the opt-in
 * trivy_exposedsecrets_info (OPERATOR_METRICS_EXPOSED_SECRET_INFO_ENABLED).
 */
export function exposedSecretFamilies(source: ReportSource): ReportFamily[] {
  const reports: FamilyReports = {
    reports: () => reportsOf(source, 'ExposedSecretReport'),
    labelNames: IMAGE_LABELS,
    values: imageLabelValues,
  };
  return [
    severityCountFamily({
      ...reports,
      name: 'trivy_image_exposedsecrets',
      help: 'Number of image exposed secrets',
      severities: SEVERITY_COUNTS_NO_UNKNOWN,
    }),
    findingInfoFamily({
      ...reports,
      name: 'trivy_exposedsecrets_info',
      help: 'Number of container image exposed secrets group by secret rule id',
      info: 'exposedSecretInfo',
      findings: (r) => r.detail?.secrets,
      findingLabels: [
        ['secret_category', (s: SecretDetail) => s.category],
        ['secret_rule_id', (s) => s.ruleID],
        ['secret_target', (s) => s.target],
        ['secret_title', (s) => s.title],
        ['severity', (s) => severityLabel(s.severity)],
      ],
    }),
  ];
}
