import type { CheckDetail } from '@fleetscan/inventory';
import type { ReportFamily } from './family.ts';
import { severityLabel } from './labels.ts';
import {
  count,
  findingLabels,
  REPORT_LABELS,
  type ReportSource,
  reportLabelValues,
  reportsOf,
  SEVERITY_COUNTS_NO_UNKNOWN,
} from './source.ts';

/**
 * ConfigAuditReport families (collector.go): trivy_resource_configaudits (always) and the opt-in
 * trivy_configaudits_info (OPERATOR_METRICS_CONFIG_AUDIT_INFO_ENABLED). Like trivy-operator, only
 * namespaced ConfigAuditReports.
 */
export function configAuditFamilies(source: ReportSource): ReportFamily[] {
  const reports = () => reportsOf(source, 'ConfigAuditReport');
  const checkLabels = findingLabels((c: CheckDetail) => [
    c.checkID,
    c.title,
    c.description,
    c.category,
    String(c.success),
    severityLabel(c.severity),
  ]);
  return [
    {
      name: 'trivy_resource_configaudits',
      help: 'Number of failing resource configuration auditing checks',
      labelNames: [...REPORT_LABELS, 'severity'],
      *series() {
        for (const r of reports()) {
          const base = reportLabelValues(r);
          for (const [field, severity] of SEVERITY_COUNTS_NO_UNKNOWN) {
            yield [[base, severity], count(r, field), r.detail?.labels];
          }
        }
      },
    },
    {
      name: 'trivy_configaudits_info',
      help: 'Number of failing resource configuration auditing checks Info',
      labelNames: [
        ...REPORT_LABELS,
        'config_audit_id',
        'config_audit_title',
        'config_audit_description',
        'config_audit_category',
        'config_audit_success',
        'severity',
      ],
      info: 'configAuditInfo',
      *series() {
        for (const r of reports()) {
          const checks = r.detail?.checks;
          if (!checks?.length) continue;
          const base = reportLabelValues(r);
          // One check per ID (report-detail.ts), so the label sets are distinct.
          for (const c of checks) {
            yield [[base, checkLabels(c).values], 1, r.detail?.labels];
          }
        }
      },
    },
  ];
}
