import { checksFamilies } from './checks.ts';
import type { ReportFamily } from './family.ts';
import type { ReportSource } from './source.ts';

/**
 * InfraAssessmentReport families (collector.go): trivy_resource_infraassessments (always) and the
 * opt-in trivy_infraassessments_info (OPERATOR_METRICS_INFRA_ASSESSMENT_INFO_ENABLED). Upstream's
 * collectInfraAssessmentInfoReports lists RbacAssessmentReports, so its info series show RBAC
 * checks under infra_* labels; fleetscan serves the InfraAssessmentReports' checks, which is what
 * the family's name, help and labels say (docs/ARCHITECTURE.md, "Report metrics").
 */
export function infraAssessmentFamilies(source: ReportSource): ReportFamily[] {
  return checksFamilies(source, {
    kind: 'InfraAssessmentReport',
    count: {
      name: 'trivy_resource_infraassessments',
      help: 'Number of failing k8s infra assessment checks',
    },
    info: {
      name: 'trivy_infraassessments_info',
      help: 'Number of failing k8s infra assessment checks Info',
      option: 'infraAssessmentInfo',
      labelPrefix: 'infra_assessment',
    },
  });
}
