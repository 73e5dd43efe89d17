import type { ReportRef } from '@fleetscan/inventory';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerReportMetrics } from './metrics.ts';

const vuln = (name: string, over: Partial<ReportRef> = {}): ReportRef => ({
  kind: 'VulnerabilityReport',
  namespace: 'ns',
  name,
  uid: name,
  container: 'app',
  resourceKind: 'ReplicaSet',
  resourceName: 'web',
  summary: { criticalCount: 2, highCount: 1, mediumCount: 0, lowCount: 0, unknownCount: 0 },
  artifact: { registry: 'r', repository: 'app', tag: '1', digest: 'sha256:x' },
  ...over,
});

describe('report metrics', () => {
  it("exports trivy-operator's series, one per report and severity", async () => {
    const registry = new Registry();
    registerReportMetrics(registry, { reports: () => [vuln('a'), vuln('b')] });
    const text = await registry.getSingleMetricAsString('trivy_image_vulnerabilities');
    expect(text).toContain(
      'trivy_image_vulnerabilities{namespace="ns",name="a",resource_kind="ReplicaSet",resource_name="web",container_name="app",image_registry="r",image_repository="app",image_tag="1",image_digest="sha256:x",severity="Critical"} 2',
    );
    expect(text.split('\n').filter((l) => l.startsWith('trivy_image_vulnerabilities{')).length).toBe(2 * 5);
  });

  it('never fails a scrape, whatever the reports hold', async () => {
    const registry = new Registry();
    const odd = [
      vuln('weird', {
        summary: { criticalCount: Number.NaN, highCount: -1 },
        artifact: undefined,
        container: undefined,
      }),
      vuln('quotes"and\\nnewlines\n', { resourceName: '"\n\\' }),
      { kind: 'ConfigAuditReport', namespace: 'ns', name: 'c', uid: 'c' } as ReportRef,
    ];
    registerReportMetrics(registry, { reports: () => odd });
    await expect(registry.metrics()).resolves.toContain('trivy_image_vulnerabilities');
    const broken = new Registry();
    registerReportMetrics(broken, {
      reports: () => {
        throw new Error('inventory not ready');
      },
    });
    await expect(broken.metrics()).resolves.toContain('# TYPE trivy_image_vulnerabilities gauge');
  });
});
