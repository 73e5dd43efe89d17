import type { ClusterComplianceReport } from '@fleetscan/reports';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createComplianceMetrics } from './metrics-compliance.ts';

const report = (reportType: 'summary' | 'all', labels: Record<string, string> = {}) =>
  ({
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'ClusterComplianceReport',
    metadata: { name: `nsa-${reportType}`, labels },
    spec: {
      cron: '0 */6 * * *',
      reportType,
      compliance: {
        id: 'k8s-nsa-1.0',
        title: 'nsa',
        description: 'NSA guidance',
        version: '1.0',
        controls: [],
      },
    },
    status: {
      summary: { failCount: 1, passCount: 2 },
      summaryReport: {
        id: 'k8s-nsa-1.0',
        title: 'nsa',
        controlCheck: [
          { id: '1.0', name: 'Non-root containers', severity: 'MEDIUM', totalFail: 3 },
          { id: '1.1', name: 'Immutable container file systems', severity: 'LOW', totalFail: 0 },
          { id: '9.0', name: 'Manual control', severity: 'HIGH' },
        ],
      },
    },
  }) as unknown as ClusterComplianceReport;

describe('compliance metrics', () => {
  it('serves trivy_compliance_info as trivy-operator does: fail count or 1 as Pass, summary reports only, manual controls left out', async () => {
    const registry = new Registry();
    createComplianceMetrics(registry, () => [report('summary', { team: 'a' }), report('all')], {
      info: true,
      labelKeys: ['team'],
      labelNames: ['k8s_label_team'],
    });
    const text = await registry.metrics();
    const base = 'title="nsa",description="NSA guidance"';
    expect(text).toContain('# HELP trivy_compliance_info cluster compliance report Info');
    expect(text).toContain(
      `trivy_compliance_info{${base},compliance_id="1.0",compliance_name="Non-root containers",status="Fail",severity="MEDIUM",k8s_label_team="a"} 3`,
    );
    expect(text).toContain(
      `trivy_compliance_info{${base},compliance_id="1.1",compliance_name="Immutable container file systems",status="Pass",severity="LOW",k8s_label_team="a"} 1`,
    );
    expect(text).not.toContain('Manual control');
    expect(text.match(/^trivy_compliance_info\{/gm)).toHaveLength(2);
    // The resource labels on the count family too, empty where a report lacks the label.
    expect(text).toContain(`trivy_cluster_compliance{${base},status="Fail",k8s_label_team="a"} 1`);
    expect(text).toContain(`trivy_cluster_compliance{${base},status="Pass",k8s_label_team=""} 2`);
  });

  it('serves no trivy_compliance_info unless asked', async () => {
    const registry = new Registry();
    createComplianceMetrics(registry, () => [report('summary')]);
    const text = await registry.metrics();
    expect(text).not.toContain('trivy_compliance_info');
    expect(text).toContain(
      'trivy_cluster_compliance{title="nsa",description="NSA guidance",status="Fail"} 1',
    );
  });
});
