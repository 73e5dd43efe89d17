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
 * InfraAssessmentReport families (collector.go): trivy_resource_infraassessments (always) and the
 * opt-in trivy_infraassessments_info (OPERATOR_METRICS_INFRA_ASSESSMENT_INFO_ENABLED). Upstream's
 * collectInfraAssessmentInfoReports lists RbacAssessmentReports, so its info series show RBAC
 * checks under infra_* labels; fleetscan serves the InfraAssessmentReports' checks, which is what
 * the family's name, help and labels say (docs/ARCHITECTURE.md, "Report metrics").
 */
export function infraAssessmentFamilies(source: ReportSource): ReportFamily[] {
  const reports = () => reportsOf(source, 'InfraAssessmentReport');
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
      name: 'trivy_resource_infraassessments',
      help: 'Number of failing k8s infra assessment checks',
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
      name: 'trivy_infraassessments_info',
      help: 'Number of failing k8s infra assessment checks Info',
      labelNames: [
        ...REPORT_LABELS,
        'infra_assessment_id',
        'infra_assessment_title',
        'infra_assessment_description',
        'infra_assessment_category',
        'infra_assessment_success',
        'severity',
      ],
      info: 'infraAssessmentInfo',
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
