import { checksFamilies } from './checks.ts';
import type { ReportFamily } from './family.ts';
import { severityCountFamily } from './family-shapes.ts';
import {
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
  return [
    ...checksFamilies(source, {
      kind: 'RbacAssessmentReport',
      count: {
        name: 'trivy_role_rbacassessments',
        help: 'Number of rbac risky role assessment checks',
      },
      info: {
        name: 'trivy_rbacassessments_info',
        help: 'Number of rbac risky role assessment checks Info',
        option: 'rbacAssessmentInfo',
        labelPrefix: 'rbac_assessment',
      },
    }),
    severityCountFamily({
      name: 'trivy_clusterrole_clusterrbacassessments',
      help: 'Number of rbac risky cluster role assessment checks',
      reports: () => reportsOf(source, 'ClusterRbacAssessmentReport'),
      labelNames: REPORT_LABELS.slice(1),
      values: (r) => reportLabelValues(r).slice(1),
      severities: SEVERITY_COUNTS_NO_UNKNOWN,
    }),
  ];
}
