import type { ReportRef } from '@fleetscan/inventory';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerAssessmentMetrics } from './metrics-assessments.ts';

const summary = { criticalCount: 2, highCount: 1, mediumCount: 0, lowCount: 3 };
const report = (kind: string, namespace: string, name: string, resourceKind: string, resourceName: string) =>
  ({ kind, namespace, name, uid: name, resourceKind, resourceName, summary }) as ReportRef;

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('assessment metrics', () => {
  const reports = [
    report('RbacAssessmentReport', 'shop', 'role-deployer', 'Role', 'deployer'),
    report('ClusterRbacAssessmentReport', '', 'clusterrole-wide', 'ClusterRole', 'wide'),
    report('InfraAssessmentReport', 'kube-system', 'pod-etcd-n1', 'Pod', 'etcd-n1'),
    report('ConfigAuditReport', 'shop', 'service-web', 'Service', 'web'),
  ];

  it("exports trivy-operator's three families, one series per report and severity, with its labels", async () => {
    const registry = new Registry();
    registerAssessmentMetrics(registry, { reports: () => reports });
    const text = await registry.metrics();
    expect(text).toContain('# HELP trivy_role_rbacassessments Number of rbac risky role assessment checks');
    expect(text).toContain(
      'trivy_role_rbacassessments{namespace="shop",name="role-deployer",resource_kind="Role",resource_name="deployer",severity="Critical"} 2',
    );
    // ClusterRoles' family has no namespace label, as upstream.
    expect(text).toContain(
      'trivy_clusterrole_clusterrbacassessments{name="clusterrole-wide",resource_kind="ClusterRole",resource_name="wide",severity="Low"} 3',
    );
    expect(text).toContain(
      'trivy_resource_infraassessments{namespace="kube-system",name="pod-etcd-n1",resource_kind="Pod",resource_name="etcd-n1",severity="High"} 1',
    );
    for (const f of [
      'trivy_role_rbacassessments',
      'trivy_clusterrole_clusterrbacassessments',
      'trivy_resource_infraassessments',
    ])
      expect(series(text, f), f).toHaveLength(4);
  });

  it('never fails a scrape', async () => {
    const registry = new Registry();
    registerAssessmentMetrics(registry, {
      reports: () => {
        throw new Error('inventory not ready');
      },
    });
    await expect(registry.metrics()).resolves.toContain('# TYPE trivy_role_rbacassessments gauge');
  });
});
