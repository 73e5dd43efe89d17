import { checksFamilies } from './checks.ts';
import type { ReportFamily } from './family.ts';
import type { ReportSource } from './source.ts';

/**
 * ConfigAuditReport families (collector.go): trivy_resource_configaudits (always) and the opt-in
 * trivy_configaudits_info (OPERATOR_METRICS_CONFIG_AUDIT_INFO_ENABLED). Like trivy-operator, only
 * namespaced ConfigAuditReports.
 */
export function configAuditFamilies(source: ReportSource): ReportFamily[] {
  return checksFamilies(source, {
    kind: 'ConfigAuditReport',
    count: {
      name: 'trivy_resource_configaudits',
      help: 'Number of failing resource configuration auditing checks',
    },
    info: {
      name: 'trivy_configaudits_info',
      help: 'Number of failing resource configuration auditing checks Info',
      option: 'configAuditInfo',
      labelPrefix: 'config_audit',
    },
  });
}
