import { KubeError, KubeErrorCode } from '@fleetscan/kube';
import type { ComplianceSpec, ComplianceStatus, ReportChecks } from '@fleetscan/reports';
import { createLogger } from '@fleetscan/service';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ComplianceIo, ComplianceObject } from './compliance-io.ts';
import { createComplianceLoop } from './compliance-loop.ts';
import { createComplianceMetrics } from './metrics-compliance.ts';
import { createFakeTime } from './testing/fake-time.ts';

const spec: ComplianceSpec = {
  id: 'k8s-pss-baseline-0.1',
  title: 'Kubernetes Pod Security Standards - Baseline',
  description: 'Kubernetes Pod Security Standards - Baseline',
  version: '0.1',
  relatedResources: [],
  platform: 'k8s',
  type: 'pss',
  controls: [
    { id: '2', name: 'Host Namespaces', severity: 'HIGH', checks: [{ id: 'KSV-0008' }] },
    { id: '3', name: 'Privileged Containers', severity: 'HIGH', checks: [{ id: 'KSV-0017' }] },
  ],
};

const privileged: ReportChecks = {
  kind: 'ConfigAuditReport',
  namespace: 'shop',
  name: 'replicaset-web-1',
  checks: [{ checkID: 'KSV017', severity: 'HIGH', success: false }],
};

/** An API server at the wire: ClusterComplianceReports with resourceVersions, and the reports. */
function fakeIo(created: string) {
  const objects = new Map<string, ComplianceObject>();
  let rv = 1;
  const io = {
    reports: [privileged] as ReportChecks[],
    reportListings: 0,
    writes: [] as { name: string; status: ComplianceStatus }[],
    failNextList: 0,
    crd: true,
    conflictNextWrite: false,
    add(name: string, cron: string, reportType: 'summary' | 'all' = 'summary') {
      objects.set(name, {
        apiVersion: 'aquasecurity.github.io/v1alpha1',
        kind: 'ClusterComplianceReport',
        metadata: {
          name,
          resourceVersion: String(rv++),
          creationTimestamp: created,
        } as ComplianceObject['metadata'],
        spec: { cron, reportType, compliance: { ...spec, id: name } },
      });
    },
    async listSpecs() {
      if (!io.crd)
        throw new KubeError(KubeErrorCode.NotFound, 'the server could not find the requested resource');
      if (io.failNextList > 0) {
        io.failNextList--;
        throw new KubeError(KubeErrorCode.Transient, 'apiserver down');
      }
      return [...objects.values()].map((o) => structuredClone(o));
    },
    async forEachReport(onReport: (r: ReportChecks) => void) {
      io.reportListings++;
      for (const r of io.reports) onReport(r);
    },
    async writeStatus(obj: ComplianceObject, status: ComplianceStatus) {
      const name = obj.metadata?.name ?? '';
      const cur = objects.get(name);
      if (!cur) throw new KubeError(KubeErrorCode.NotFound, 'gone');
      if (io.conflictNextWrite || cur.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        io.conflictNextWrite = false;
        throw new KubeError(KubeErrorCode.Conflict, 'the object has been modified');
      }
      objects.set(name, { ...cur, metadata: { ...cur.metadata, resourceVersion: String(rv++) }, status });
      io.writes.push({ name, status });
    },
  } satisfies ComplianceIo & Record<string, unknown>;
  return io;
}

function setup(created = '2026-11-26T10:00:00Z') {
  const time = createFakeTime(Date.parse('2026-11-26T10:00:10Z'));
  const io = fakeIo(created);
  const registry = new Registry();
  let loop: ReturnType<typeof createComplianceLoop> | undefined;
  const metrics = createComplianceMetrics(registry, () => loop?.reports() ?? []);
  loop = createComplianceLoop({
    io,
    clock: time,
    timers: time,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics,
    failEntriesLimit: 10,
    checkIntervalMs: 30_000,
  });
  const runs = async () =>
    (await registry.getSingleMetric('fleetscan_writer_compliance_runs_total')?.get())?.values ?? [];
  const runCount = async (outcome: string) =>
    (await runs()).find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { time, io, loop, registry, runCount };
}

const HOUR = 3_600_000;

describe('compliance loop: trivy-operator schedule semantics', () => {
  it('a new report gets its first status at the first cron firing after its creation, then at each one', async () => {
    const { time, io, loop } = setup();
    io.add('k8s-pss-baseline-0.1', '0 */6 * * *');
    loop.start();
    // Created 10:00: not due until 12:00, and the audit reports are not even listed meanwhile.
    await time.advance(HOUR + 59 * 60_000);
    expect(io.writes).toEqual([]);
    expect(io.reportListings).toBe(0);
    await time.advance(60_000);
    expect(io.writes).toHaveLength(1);
    expect(io.writes[0]?.status.updateTimestamp).toBe('2026-11-26T12:00:00Z');
    expect(io.writes[0]?.status.summaryReport?.controlCheck).toEqual([
      { id: '2', name: 'Host Namespaces', severity: 'HIGH', totalFail: 0 },
      { id: '3', name: 'Privileged Containers', severity: 'HIGH', totalFail: 1 },
    ]);
    expect(io.writes[0]?.status.summary).toEqual({ failCount: 1, passCount: 1 });
    // Computed at 12:00: not again before 18:00.
    await time.advance(5 * HOUR + 59 * 60_000);
    expect(io.writes).toHaveLength(1);
    await time.advance(60_000);
    expect(io.writes.map((w) => w.status.updateTimestamp)).toEqual([
      '2026-11-26T12:00:00Z',
      '2026-11-26T18:00:00Z',
    ]);
    await loop.stop();
  });

  it('a report whose last update is older than its last firing is due at once', async () => {
    const { time, io, loop } = setup('2026-11-25T00:00:00Z');
    io.add('k8s-nsa-1.0', '0 */6 * * *');
    loop.start();
    await time.advance(1000);
    expect(io.writes.map((w) => w.name)).toEqual(['k8s-nsa-1.0']);
    await loop.stop();
  });

  it('reports due together share one listing of the audit reports', async () => {
    const { time, io, loop } = setup();
    io.add('a', '* * * * *');
    io.add('b', '* * * * *', 'all');
    loop.start();
    await time.advance(60_000);
    expect(io.writes.map((w) => w.name).sort()).toEqual(['a', 'b']);
    expect(io.reportListings).toBe(1);
    expect(io.writes.find((w) => w.name === 'b')?.status.detailReport?.results?.[1]?.checks).toEqual([
      expect.objectContaining({ checkID: 'KSV017', target: 'shop/replicaset-web-1', success: false }),
    ]);
    await loop.stop();
  });

  it('a report changed meanwhile (conflict) is written in the next pass, on the object as it is then', async () => {
    const { time, io, loop, runCount } = setup();
    io.add('a', '* * * * *');
    io.conflictNextWrite = true;
    loop.start();
    // Due at 10:01:00, 50 s from now.
    await time.advance(50_000);
    expect(io.writes).toEqual([]);
    expect(await runCount('conflict')).toBe(1);
    await time.advance(2_000);
    expect(io.writes.map((w) => w.name)).toEqual(['a']);
    expect(await runCount('written')).toBe(1);
    await loop.stop();
  });

  it('a failed pass is retried with backoff, and counted', async () => {
    const { time, io, loop, runCount } = setup('2026-11-25T00:00:00Z');
    io.add('a', '0 */6 * * *');
    io.failNextList = 3;
    loop.start();
    await time.advance(0);
    expect(await runCount('failed')).toBe(1);
    expect(io.writes).toEqual([]);
    // 0.5-1 s, 1-2 s, 2-4 s: three tries in at most 7 s, the fourth succeeds.
    await time.advance(7_000);
    expect(await runCount('failed')).toBe(3);
    expect(io.writes.map((w) => w.name)).toEqual(['a']);
    await loop.stop();
    expect(time.timers).toBe(0);
  });

  it('a report with an unreadable cron is skipped (counted once), the others are not held up', async () => {
    const { time, io, loop, runCount } = setup('2026-11-25T00:00:00Z');
    io.add('bad', '0 0 31 2 *');
    io.add('good', '0 */6 * * *');
    loop.start();
    await time.advance(1000);
    await time.advance(60_000);
    expect(io.writes.map((w) => w.name)).toEqual(['good']);
    expect(await runCount('invalid')).toBe(1);
    await loop.stop();
  });
});

describe('compliance loop without the CRD', () => {
  it('has nothing to do: not a failure, looked at again every check interval', async () => {
    const { time, io, loop, runCount } = setup();
    io.crd = false;
    loop.start();
    await time.advance(90_000);
    expect(await runCount('failed')).toBe(0);
    io.crd = true;
    io.add('a', '* * * * *');
    await time.advance(90_000);
    expect(io.writes.map((w) => w.name)).toContain('a');
    await loop.stop();
  });
});

describe('trivy_cluster_compliance', () => {
  it("trivy-operator's family: Fail and Pass per report, by title and description, 0 before a status", async () => {
    const { time, io, loop, registry } = setup();
    io.add('k8s-pss-baseline-0.1', '0 */6 * * *');
    loop.start();
    await time.advance(1000);
    const labels =
      'title="Kubernetes Pod Security Standards - Baseline",description="Kubernetes Pod Security Standards - Baseline"';
    let text = await registry.metrics();
    expect(text).toContain('# HELP trivy_cluster_compliance cluster compliance report');
    expect(text).toContain(`trivy_cluster_compliance{${labels},status="Fail"} 0`);
    await time.advance(2 * HOUR);
    text = await registry.metrics();
    expect(text).toContain(`trivy_cluster_compliance{${labels},status="Fail"} 1`);
    expect(text).toContain(`trivy_cluster_compliance{${labels},status="Pass"} 1`);
    await loop.stop();
  });
});
