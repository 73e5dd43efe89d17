import type { Inventory, ReportRef } from '@fleetscan/inventory';
import {
  CLUSTER_RBAC_ASSESSMENT_REPORT,
  INFRA_ASSESSMENT_REPORT,
  RBAC_ASSESSMENT_REPORT,
} from '@fleetscan/reports';
import { Gauge, type Registry } from 'prom-client';

/**
 * trivy-operator's assessment metric families (pkg/metrics/collector.go), with its names, help
 * texts and labels, computed at scrape from the reports the inventory watches: one series per
 * report and severity (Critical, High, Medium, Low), so bounded by the number of reports, and a
 * scrape never fails whatever a report holds.
 *
 * - trivy_role_rbacassessments{namespace,name,resource_kind,resource_name,severity}: RbacAssessmentReports
 * - trivy_clusterrole_clusterrbacassessments{name,resource_kind,resource_name,severity}:
 *   ClusterRbacAssessmentReports (upstream drops the namespace label for these)
 * - trivy_resource_infraassessments{namespace,name,resource_kind,resource_name,severity}: InfraAssessmentReports
 */

const SEVERITIES = [
  ['critical', 'Critical'],
  ['high', 'High'],
  ['medium', 'Medium'],
  ['low', 'Low'],
] as const;

interface Family {
  name: string;
  help: string;
  kind: string;
  /** Whether the family has a namespace label. */
  namespaced: boolean;
}

export const ASSESSMENT_FAMILIES: readonly Family[] = [
  {
    name: 'trivy_role_rbacassessments',
    help: 'Number of rbac risky role assessment checks',
    kind: RBAC_ASSESSMENT_REPORT.kind,
    namespaced: true,
  },
  {
    name: 'trivy_clusterrole_clusterrbacassessments',
    help: 'Number of rbac risky cluster role assessment checks',
    kind: CLUSTER_RBAC_ASSESSMENT_REPORT.kind,
    namespaced: false,
  },
  {
    name: 'trivy_resource_infraassessments',
    help: 'Number of failing k8s infra assessment checks',
    kind: INFRA_ASSESSMENT_REPORT.kind,
    namespaced: true,
  },
];

export function registerAssessmentMetrics(registry: Registry, inventory: Pick<Inventory, 'reports'>): void {
  for (const f of ASSESSMENT_FAMILIES) {
    const labelNames = [
      ...(f.namespaced ? ['namespace'] : []),
      'name',
      'resource_kind',
      'resource_name',
      'severity',
    ] as const;
    new Gauge({
      name: f.name,
      help: f.help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of safeReports(inventory)) {
          if (r.kind !== f.kind || !r.summary) continue;
          for (const [sev, label] of SEVERITIES) {
            this.set(
              {
                ...(f.namespaced ? { namespace: r.namespace } : {}),
                name: r.name,
                resource_kind: r.resourceKind ?? '',
                resource_name: r.resourceName ?? '',
                severity: label,
              },
              count(r, sev),
            );
          }
        }
      },
    });
  }
}

function safeReports(inventory: Pick<Inventory, 'reports'>): ReportRef[] {
  try {
    return inventory.reports();
  } catch {
    return [];
  }
}

function count(r: ReportRef, sev: string): number {
  const v = r.summary?.[`${sev}Count`];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
