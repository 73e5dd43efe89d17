import type { SecretDetail } from '@fleetscan/inventory';
import type { ReportFamily } from './family.ts';
import { severityLabel } from './labels.ts';
import {
  count,
  findingLabels,
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
  const reports = () => reportsOf(source, 'ExposedSecretReport');
  const secretLabels = findingLabels((s: SecretDetail) => [
    s.category,
    s.ruleID,
    s.target,
    s.title,
    severityLabel(s.severity),
  ]);
  return [
    {
      name: 'trivy_image_exposedsecrets',
      help: 'Number of image exposed secrets',
      labelNames: [...IMAGE_LABELS, 'severity'],
      *series() {
        for (const r of reports()) {
          const base = imageLabelValues(r);
          for (const [field, severity] of SEVERITY_COUNTS_NO_UNKNOWN) {
            yield [[base, severity], count(r, field), r.detail?.labels];
          }
        }
      },
    },
    {
      name: 'trivy_exposedsecrets_info',
      help: 'Number of container image exposed secrets group by secret rule id',
      labelNames: [
        ...IMAGE_LABELS,
        'secret_category',
        'secret_rule_id',
        'secret_target',
        'secret_title',
        'severity',
      ],
      info: 'exposedSecretInfo',
      *series() {
        for (const r of reports()) {
          const secrets = r.detail?.secrets;
          if (!secrets?.length) continue;
          const base = imageLabelValues(r);
          const seen = new Set<string>();
          for (const s of secrets) {
            const own = secretLabels(s);
            if (seen.has(own.key)) continue;
            seen.add(own.key);
            yield [[base, own.values], 1, r.detail?.labels];
          }
        }
      },
    },
  ];
}
