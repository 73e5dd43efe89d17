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
 * RbacAssessmentReport and ClusterRbacAssessmentReport families (collector.go):
 * trivy_role_rbacassessments and trivy_clusterrole_clusterrbacassessments (always; the cluster one
 * without the namespace label, as upstream), and the opt-in trivy_rbacassessments_info
 * (OPERATOR_METRICS_RBAC_ASSESSMENT_INFO_ENABLED), which upstream fills from RbacAssessmentReports
 * only: a ClusterRole's checks have no info series there either.
 */
export function rbacAssessmentFamilies(source: ReportSource): ReportFamily[] {
  const roles = () => reportsOf(source, 'RbacAssessmentReport');
  const clusterRoles = () => reportsOf(source, 'ClusterRbacAssessmentReport');
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
      name: 'trivy_role_rbacassessments',
      help: 'Number of rbac risky role assessment checks',
      labelNames: [...REPORT_LABELS, 'severity'],
      *series() {
        for (const r of roles()) {
          const base = reportLabelValues(r);
          for (const [field, severity] of SEVERITY_COUNTS_NO_UNKNOWN) {
            yield [[base, severity], count(r, field), r.detail?.labels];
          }
        }
      },
    },
    {
      name: 'trivy_rbacassessments_info',
      help: 'Number of rbac risky role assessment checks Info',
      labelNames: [
        ...REPORT_LABELS,
        'rbac_assessment_id',
        'rbac_assessment_title',
        'rbac_assessment_description',
        'rbac_assessment_category',
        'rbac_assessment_success',
        'severity',
      ],
      info: 'rbacAssessmentInfo',
      *series() {
        for (const r of roles()) {
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
    {
      name: 'trivy_clusterrole_clusterrbacassessments',
      help: 'Number of rbac risky cluster role assessment checks',
      labelNames: [...REPORT_LABELS.slice(1), 'severity'],
      *series() {
        for (const r of clusterRoles()) {
          const base = reportLabelValues(r).slice(1);
          for (const [field, severity] of SEVERITY_COUNTS_NO_UNKNOWN) {
            yield [[base, severity], count(r, field), r.detail?.labels];
          }
        }
      },
    },
  ];
}
