import {
  type BlobStore,
  BusError,
  BusErrorCode,
  type ConfigAuditResult,
  DEFAULT_FAILURE_BACKOFF,
} from '@fleetscan/bus';
import { KubeError, KubeErrorCode } from '@fleetscan/kube';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LATE_OWNER_DELAY_MS } from './late-owners.ts';
import { createWriterMetrics } from './metrics.ts';
import { OWNER_GRACE_MS, OWNER_RETRY_MIN_MS } from './owner-grace.ts';
import { createReconciler } from './reconcile.ts';
import { createScanFailures } from './scan-failures.ts';
import { memoryFailureStore, recordingEvents } from './testing/fake-failures.ts';
import { createFakeTime } from './testing/fake-time.ts';
import {
  data,
  fakeCluster,
  IMAGE,
  owner,
  recordingApi,
  recordingLogger,
  result,
} from './testing/fixtures.ts';

/** The stream stored the result a second after the scan finished. */
const at = { storedAt: new Date('2026-11-26T10:00:02Z') };

const SBOM_KEY = 'sbom/sha256-1/a/public';
const sbomEntry = {
  v: 1,
  digest: 'sha256:1',
  scanners: ['vuln'],
  analysedAt: '2026-11-26T09:00:00Z',
  storedAt: '2026-11-26T09:00:00Z',
  scanner: data.scanner,
  os: data.os,
  sbom: JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components: [{ 'bom-ref': 'pkg:deb/debian/apt@2', name: 'apt', version: '2' }],
    dependencies: [],
  }),
};

/**
 * The writer's view of the cluster, changed by the test; applies recorded at the ReportApi. The
 * object store holds `data` at every key but SBOM_KEY, which holds `sbom` (a thrown error: it fails).
 */
function setup(opts: { sbomReports?: boolean; sbom?: unknown } = {}) {
  const time = createFakeTime(at.storedAt.getTime());
  const cluster = fakeCluster();
  const api = recordingApi();
  const metrics = createWriterMetrics(new Registry());
  const logger = recordingLogger();
  const store = memoryFailureStore();
  const events = recordingEvents();
  const deleted: string[] = [];
  const failures = createScanFailures({
    store,
    events,
    reports: { delete: async (_plural, namespace, name) => void deleted.push(`${namespace}/${name}`) },
    inventory: cluster.inventory,
    metrics,
    logger,
    cluster: 'c1',
    backoff: DEFAULT_FAILURE_BACKOFF,
  });
  const reconciler = createReconciler({
    inventory: cluster.inventory,
    blobs: {
      get: async (_schema: unknown, key: string) => {
        if (key !== SBOM_KEY) return data;
        const sbom = opts.sbom ?? sbomEntry;
        if (sbom instanceof Error) throw sbom;
        return sbom;
      },
    } as unknown as BlobStore,
    ...(opts.sbomReports !== undefined && { sbomReports: opts.sbomReports }),
    api,
    metrics,
    logger,
    settings: { ttlSeconds: 86400, maxReportBytes: 1_000_000 },
    writeConcurrency: 4,
    bulkWritesInFlight: 2,
    clock: time,
    timers: time,
    failures,
  });
  const count = async (metric: 'results' | 'failures', label: string) =>
    (await metrics[metric].get()).values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0;
  return {
    time,
    owners: cluster.owners,
    cluster,
    api,
    reconciler,
    count,
    logger,
    store,
    events,
    deleted,
    metrics,
  };
}

const configResult = (uid: string): ConfigAuditResult => ({
  v: 1,
  cluster: 'c1',
  owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'team-a', name: 'a', uid },
  specHash: 'spec',
  pluginConfigHash: 'p',
  status: 'ok',
  data: {
    scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
    checks: [],
    scannedAt: '2026-11-26T10:00:00Z',
  },
  finishedAt: '2026-11-26T10:00:01Z',
});

describe('reconciler: owners seen after their image was fanned out', () => {
  it('writes a late owner from the remembered result, in that namespace only', async () => {
    const { time, owners, api, reconciler } = setup();
    owners.push(owner('a'));
    expect(await reconciler.image(result, at)).toEqual({ kind: 'ack' });
    expect(api.applied).toEqual(['team-a/replicaset-a-app']);

    const late = owner('b');
    owners.push(late);
    reconciler.ownerAppeared(late);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(api.applied).toEqual(['team-a/replicaset-a-app', 'team-a/replicaset-b-app']);

    // Once written, the same result for the same report is not applied again (the watch lags).
    reconciler.ownerAppeared(late);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(await reconciler.image(result, at)).toEqual({ kind: 'ack' });
    expect(api.applied).toHaveLength(2);

    // Another tenant's namespace never gets a result its own request did not ask for.
    const elsewhere = owner('c', 'team-b');
    owners.push(elsewhere);
    reconciler.ownerAppeared(elsewhere);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(api.applied).toHaveLength(2);
  });

  it('applies one of two concurrent identical writes of a report', async () => {
    const { owners, api, reconciler } = setup();
    owners.push(owner('a'));
    await Promise.all([reconciler.image(result, at), reconciler.image(result, at)]);
    expect(api.applied).toEqual(['team-a/replicaset-a-app']);
  });

  it('writes a report again once it was deleted', async () => {
    const { owners, api, reconciler } = setup();
    owners.push(owner('a'));
    await reconciler.image(result, at);
    reconciler.reportDeleted('VulnerabilityReport', 'team-a', 'replicaset-a-app');
    await reconciler.image(result, at);
    expect(api.applied).toEqual(['team-a/replicaset-a-app', 'team-a/replicaset-a-app']);
  });

  it('does nothing for an owner whose image was not fanned out lately', async () => {
    const { time, owners, api, reconciler } = setup();
    const o = owner('a');
    owners.push(o);
    reconciler.ownerAppeared(o);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(api.applied).toEqual([]);
  });

  it('a fan-out whose writes failed is remembered all the same (it is retried): a late owner is written from it', async () => {
    // Remembered before its writes, so an owner seen while they run is not left waiting (below).
    const { time, owners, api, reconciler } = setup();
    owners.push(owner('a'));
    api.fail = () => new Error('API server unavailable');
    expect((await reconciler.image(result, at)).kind).toBe('retry');
    api.fail = undefined;
    const late = owner('b');
    owners.push(late);
    reconciler.ownerAppeared(late);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(api.applied).toEqual(['team-a/replicaset-b-app']);
  });

  it('a failed scan is not remembered for late owners', async () => {
    const { time, owners, api, reconciler } = setup();
    owners.push(owner('a'));
    const failed = {
      ...result,
      status: 'error' as const,
      error: { code: 'FAILED', message: 'x', permanent: true },
    };
    expect((await reconciler.image(failed, at)).kind).toBe('ack');
    const late = owner('b');
    owners.push(late);
    reconciler.ownerAppeared(late);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(api.applied).toEqual([]);
  });
});

describe('reconciler: what it asks consume() to do', () => {
  it('a failed write is a retry whose delay consume()’s policy decides, counted', async () => {
    const { owners, api, reconciler, count } = setup();
    owners.push(owner('a'));
    api.fail = () => new KubeError(KubeErrorCode.Transient, 'API server unavailable');
    const outcome = await reconciler.image(result, at);
    expect(outcome).toEqual({ kind: 'retry', reason: expect.stringContaining('API server unavailable') });
    expect(await count('failures', 'apply')).toBe(1);
  });

  it('a report the API server refuses as invalid is not retried: the other owners are written, and the result ends in a term, counted', async () => {
    // A refused body fails the same way on every delivery; stopping the fan-out at it would leave the
    // owners after it without reports until the delivery limit ended the message.
    const { owners, api, reconciler, count, logger } = setup();
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) owners.push(owner(name));
    api.fail = (obj) =>
      obj.metadata.name.includes('-a-')
        ? new KubeError(KubeErrorCode.Invalid, 'HTTP 500: failed to create typed patch object')
        : undefined;
    const outcome = await reconciler.image(result, at);
    expect(outcome).toEqual({
      kind: 'term',
      reason: expect.stringContaining('failed to create typed patch object'),
    });
    expect(api.applied).toHaveLength(7);
    expect(api.applied.some((n) => n.includes('-a-'))).toBe(false);
    expect(await count('failures', 'invalid_report')).toBe(1);
    expect(await count('failures', 'apply')).toBe(0);
    expect(
      logger.lines.some((l) => l.msg === 'report refused by the API server as invalid; not retried'),
    ).toBe(true);
  });

  it('a config report refused as invalid ends its result in a term; any other failure is still a retry', async () => {
    const { owners, api, reconciler, count } = setup();
    owners.push(owner('a'));
    api.fail = () => new KubeError(KubeErrorCode.Invalid, 'HTTP 422 Invalid: spec.x: Invalid value');
    expect(await reconciler.config(configResult('uid-team-a-a'), at)).toEqual({
      kind: 'term',
      reason: expect.stringContaining('Invalid value'),
    });
    expect(await count('failures', 'invalid_report')).toBe(1);
    api.fail = () => new KubeError(KubeErrorCode.Forbidden, 'HTTP 403 Forbidden');
    expect(await reconciler.config(configResult('uid-team-a-a'), at)).toMatchObject({ kind: 'retry' });
  });

  it('a result whose owner is not seen yet waits at least OWNER_RETRY_MIN_MS a try, for the grace, then is dropped and counted', async () => {
    const { time, reconciler, count } = setup();
    const retry = { kind: 'retry', delayMs: OWNER_RETRY_MIN_MS };
    expect(await reconciler.image(result, at)).toMatchObject(retry);
    expect(await reconciler.config(configResult('uid-x'), at)).toMatchObject(retry);
    await time.advance(OWNER_GRACE_MS);
    expect(await reconciler.image(result, at)).toEqual({ kind: 'ack' });
    expect(await reconciler.config(configResult('uid-x'), at)).toEqual({ kind: 'ack' });
    expect(await count('results', 'no_owner')).toBe(1);
    expect(await count('results', 'dropped_owner_gone')).toBe(1);
  });

  it('an urgent result whose owner is not seen yet is written as soon as the owner appears, not OWNER_RETRY_MIN_MS later', async () => {
    // Seen in a cold start: a new workload's image answer came before the writer's watch showed its
    // ReplicaSet, and its VulnerabilityReport waited 5.9 s for the retry.
    const { time, reconciler, cluster, api } = setup();
    const urgent = { ...at, subject: 'fleetscan.result.image.c1', signal: new AbortController().signal };
    const image = reconciler.image(result, urgent);
    const o = owner('a');
    const config = reconciler.config(configResult(o.uid), {
      ...urgent,
      subject: 'fleetscan.result.config.c1',
    });
    await time.advance(1000);
    cluster.owners.push(o);
    reconciler.ownerAppeared(o);
    expect(await image).toEqual({ kind: 'ack' });
    expect(await config).toEqual({ kind: 'ack' });
    expect(api.applied).toEqual(expect.arrayContaining(['team-a/replicaset-a-app', 'team-a/replicaset-a']));
    // Not seen within the wait: retried as before; a redelivery does not wait in its handler again.
    const late = reconciler.image({ ...result, image: 'r/none:1' }, urgent);
    await time.advance(OWNER_RETRY_MIN_MS);
    expect(await late).toMatchObject({ kind: 'retry', delayMs: OWNER_RETRY_MIN_MS });
    expect(
      await reconciler.image({ ...result, image: 'r/none:1' }, { ...urgent, delivery: 2 }),
    ).toMatchObject({
      kind: 'retry',
      delayMs: OWNER_RETRY_MIN_MS,
    });
  });

  it('bulk results share BULK_WRITES_IN_FLIGHT API writes in flight; an urgent result’s writes do not wait for them', async () => {
    // Seen in a cold start: 8 bulk results × 8 writes each kept ~64 applies in the API server, and a
    // new workload's apply got a small share of it.
    const { reconciler, cluster, api, logger, metrics } = setup();
    const images = ['r/i1:1', 'r/i2:1', 'r/i3:1', 'r/new:1'];
    for (const image of images)
      for (const n of [1, 2, 3, 4])
        cluster.owners.push(owner(`${image.slice(2, 4)}-${n}`, 'team-a', [image]));
    api.hold();
    const bulk = { ...at, subject: 'fleetscan.result.bulk.image.c1' };
    const backlog = images.slice(0, 3).map((image) => reconciler.image({ ...result, image }, bulk));
    await new Promise((r) => setTimeout(r, 20));
    // Bulk writes start one at a time (bulk-limit.ts) and grow up to BULK_WRITES_IN_FLIGHT while fast.
    expect(api.maxInFlight()).toBe(1);
    const urgent = reconciler.image(
      { ...result, image: 'r/new:1' },
      { ...at, subject: 'fleetscan.result.image.c1', signal: new AbortController().signal },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(api.maxInFlight()).toBe(5);
    api.release();
    expect(await Promise.all([...backlog, urgent])).toEqual(Array(4).fill({ kind: 'ack' }));
    expect(api.applied).toHaveLength(16);
    // The bound grew while the writes kept pace (fake time: every write took 0 ms), up to the most.
    expect((await metrics.bulkLimit.get()).values[0]?.value).toBe(2);
    expect(logger.lines.filter((l) => l.msg === 'bulk writes in flight')[0]?.fields).toMatchObject({
      max: 2,
    });
  });

  it('an owner seen while a fan-out’s writes run is written from that fan-out at once, not LATE_OWNER_DELAY_MS later', async () => {
    // Seen in a DB update: the writer's watch showed the new owner 0.1 s into the fan-out of its own
    // urgent answer, before the writer remembered that answer; it waited 10 s.
    const { time, reconciler, cluster, api } = setup();
    cluster.owners.push(owner('old'));
    const created = Date.parse('2026-11-26T10:00:00Z');
    const o = owner('new');
    const fresh = { ...o, workload: { createdAtMs: created } } as typeof o;
    api.hold();
    const fanOut = reconciler.image(
      { ...result, requestedAt: '2026-11-26T10:00:00.500Z' },
      { ...at, subject: 'fleetscan.result.image.c1' },
    );
    await new Promise((r) => setTimeout(r, 10));
    cluster.owners.push(fresh);
    reconciler.ownerAppeared(fresh);
    await new Promise((r) => setTimeout(r, 10));
    api.release();
    expect(await fanOut).toEqual({ kind: 'ack' });
    await time.advance(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(api.applied).toContain('team-a/replicaset-new-app');
  });

  it('a result that says it finished in the future stops waiting for its owner (issue 14)', async () => {
    const { time, reconciler, count, logger } = setup();
    const future = { ...result, finishedAt: '3000-01-01T00:00:00Z' };
    const futureConfig = { ...configResult('uid-x'), finishedAt: '3000-01-01T00:00:00Z' };
    expect((await reconciler.image(future, at)).kind).toBe('retry');
    // Bounded by when the stream stored it: a minute and a little skew later, it ends.
    await time.advance(OWNER_GRACE_MS + 10_000);
    expect(await reconciler.image(future, at)).toEqual({ kind: 'ack' });
    expect(await reconciler.config(futureConfig, at)).toEqual({ kind: 'ack' });
    expect(await count('results', 'no_owner')).toBe(1);
    expect(await count('results', 'dropped_owner_gone')).toBe(1);
    // Each ends with one log line saying so.
    expect(logger.lines.filter((l) => l.msg.endsWith('result dropped'))).toHaveLength(2);
  });

  it('writes a config result for its owner at the audited spec, and drops a stale one', async () => {
    const { owners, api, reconciler, count } = setup();
    const o = owner('a');
    owners.push(o);
    expect(await reconciler.config(configResult(o.uid), at)).toEqual({ kind: 'ack' });
    expect(api.applied).toEqual(['team-a/replicaset-a']);
    expect(await reconciler.config({ ...configResult(o.uid), specHash: 'old' }, at)).toEqual({
      kind: 'ack',
    });
    expect(await count('results', 'dropped_stale')).toBe(1);
    expect(api.applied).toHaveLength(1);
  });

  it("writes every report a config result is for: a control-plane Pod's config audit and infra assessment", async () => {
    const { owners, api, reconciler } = setup();
    const pod = { ...owner('kube-apiserver-n1', 'kube-system'), kind: 'Pod' as const, apiVersion: 'v1' };
    owners.push(pod);
    const r: ConfigAuditResult = {
      ...configResult(pod.uid),
      owner: { apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system', name: pod.name, uid: pod.uid },
      reports: ['ConfigAuditReport', 'InfraAssessmentReport'],
    };
    expect(await reconciler.config(r, at)).toEqual({ kind: 'ack' });
    expect(api.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'ConfigAuditReport kube-system/pod-kube-apiserver-n1',
      'InfraAssessmentReport kube-system/pod-kube-apiserver-n1',
    ]);
  });
});

describe('reconciler: SbomReports', () => {
  const withSbom = { ...result, sbomBlob: SBOM_KEY };
  const kinds = (api: ReturnType<typeof setup>['api']) =>
    api.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);

  it("writes each owner's SbomReport from the SBOM the result names, when on", async () => {
    const { owners, api, reconciler } = setup({ sbomReports: true });
    owners.push(owner('a'));
    expect(await reconciler.image(withSbom, at)).toEqual({ kind: 'ack' });
    expect(kinds(api)).toEqual([
      'VulnerabilityReport team-a/replicaset-a-app',
      'SbomReport team-a/replicaset-a-app',
    ]);
  });

  it('writes none when off, or when the result names no SBOM (a scanner from before)', async () => {
    for (const [sbomReports, r] of [
      [false, withSbom],
      [true, result],
    ] as const) {
      const { owners, api, reconciler } = setup({ sbomReports });
      owners.push(owner('a'));
      expect(await reconciler.image(r, at)).toEqual({ kind: 'ack' });
      expect(kinds(api)).toEqual(['VulnerabilityReport team-a/replicaset-a-app']);
    }
  });

  it('a stored SBOM that is gone or not CycloneDX costs only the SbomReports, counted and logged', async () => {
    const gone = new BusError(BusErrorCode.BlobMissing, `blob ${SBOM_KEY} not found`);
    const notCycloneDx = { ...sbomEntry, sbom: '{"spdxVersion":"SPDX-2.3"}' };
    for (const [sbom, reason] of [
      [gone, 'sbom_missing'],
      [notCycloneDx, 'sbom_invalid'],
    ] as const) {
      const { owners, api, reconciler, count, logger } = setup({ sbomReports: true, sbom });
      owners.push(owner('a'));
      expect(await reconciler.image(withSbom, at)).toEqual({ kind: 'ack' });
      expect(kinds(api)).toEqual(['VulnerabilityReport team-a/replicaset-a-app']);
      expect(await count('failures', reason)).toBe(1);
      expect(logger.lines.filter((l) => l.msg.includes('SbomReports not written'))).toHaveLength(1);
    }
  });

  it('any other failure to read it is retried with the result', async () => {
    const { owners, api, reconciler } = setup({
      sbomReports: true,
      sbom: new Error('object store did not answer'),
    });
    owners.push(owner('a'));
    await expect(reconciler.image(withSbom, at)).rejects.toThrow('object store did not answer');
    expect(api.applied).toEqual([]);
  });
});

describe('reconciler: failed scans', () => {
  const { blob: _blob, ...withoutData } = result;
  const failed = {
    ...withoutData,
    status: 'error' as const,
    error: { code: 'NOT_FOUND', message: 'manifest unknown', permanent: true },
    requestedAt: '2026-11-26T09:59:58Z',
  };

  it('writes no report, records the failure once per round, and puts a ScanFailed Event on each owner', async () => {
    const { owners, api, reconciler, store, events, count, metrics } = setup();
    owners.push(owner('a'), owner('b'), owner('c', 'team-b'));
    expect(await reconciler.image(failed, at)).toEqual({ kind: 'ack' });
    expect(api.applied).toEqual([]);
    expect(store.records()).toMatchObject([
      { namespace: 'team-a', image: IMAGE, code: 'NOT_FOUND', failures: 1 },
    ]);
    expect([...events.events.values()].map((e) => [e.involvedObject.name, e.reason, e.type])).toEqual([
      ['a', 'ScanFailed', 'Warning'],
      ['b', 'ScanFailed', 'Warning'],
    ]);
    expect([...events.events.values()][0]?.message).toContain('NOT_FOUND');
    expect(await count('results', 'error_result')).toBe(1);

    // A second request that was in flight with the first (made before the failure) is the same round.
    expect(await reconciler.image({ ...failed, finishedAt: '2026-11-26T10:00:01.5Z' }, at)).toEqual({
      kind: 'ack',
    });
    expect(store.records()[0]?.failures).toBe(1);
    expect((await metrics.scanFailures.get()).values).toEqual([
      expect.objectContaining({ labels: { namespace: 'team-a', reason: 'NOT_FOUND' }, value: 1 }),
    ]);
    // The Event is updated in place, not added to.
    expect(events.events.size).toBe(2);

    // A request made after the round's failure (the watcher's retry) is a new round.
    await reconciler.image(
      { ...failed, requestedAt: '2026-11-26T10:02:00Z', finishedAt: '2026-11-26T10:02:01Z' },
      at,
    );
    expect(store.records()[0]?.failures).toBe(2);
    expect([...events.events.values()].map((e) => e.count)).toEqual([2, 2]);
    expect(events.events.size).toBe(2);
  });

  it('deletes an error report an older writer left (it looks clean), and keeps a valid older report', async () => {
    const { owners, cluster, reconciler, deleted } = setup();
    owners.push(owner('a'), owner('b'));
    const report = (name: string, uid: string, scanError?: string) => ({
      kind: 'VulnerabilityReport' as const,
      namespace: 'team-a',
      name,
      ownerUid: uid,
      ...(scanError && { scanError }),
    });
    cluster.seeReport(report('replicaset-a-app', 'uid-team-a-a', 'NOT_FOUND: old'));
    cluster.seeReport(report('replicaset-b-app', 'uid-team-a-b'));
    expect(await reconciler.image(failed, at)).toEqual({ kind: 'ack' });
    expect(deleted).toEqual(['team-a/replicaset-a-app']);
  });

  it('removes the record when the image scans again, and only then costs a write', async () => {
    const { owners, reconciler, store } = setup();
    owners.push(owner('a'));
    await reconciler.image(result, at);
    expect(store.writes).toBe(0);
    await reconciler.image(failed, at);
    expect(store.records()).toHaveLength(1);
    expect(await reconciler.image(result, at)).toEqual({ kind: 'ack' });
    expect(store.records()).toEqual([]);
  });

  it('retries the result when the record cannot be written; an Event that fails is only counted', async () => {
    const { owners, reconciler, store, events, count } = setup();
    owners.push(owner('a'));
    events.fail = new Error('forbidden');
    expect(await reconciler.image(failed, at)).toEqual({ kind: 'ack' });
    expect(await count('failures', 'event')).toBe(1);
    store.write = async () => {
      throw new Error('nats down');
    };
    const again = { ...failed, requestedAt: '2026-11-26T10:05:00Z', finishedAt: '2026-11-26T10:05:01Z' };
    expect(await reconciler.image(again, at)).toMatchObject({ kind: 'retry' });
  });
});
