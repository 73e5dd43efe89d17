import { DEFAULT_FAILURE_BACKOFF, type ImageScanResult } from '@fleetscan/bus';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createWriterMetrics } from './metrics.ts';
import { createScanFailures } from './scan-failures.ts';
import { memoryFailureStore, recordingEvents } from './testing/fake-failures.ts';
import { fakeCluster, IMAGE, owner, recordingLogger } from './testing/fixtures.ts';

const failed = (over: Partial<ImageScanResult> = {}): ImageScanResult => ({
  v: 1,
  cluster: 'c1',
  image: IMAGE,
  namespace: 'team-a',
  scanConfigHash: 'h',
  status: 'error',
  cached: false,
  error: { code: 'UNAUTHORIZED', message: 'no', permanent: true },
  requestedAt: '2026-11-26T10:00:00Z',
  finishedAt: '2026-11-26T10:00:01Z',
  ...over,
});

function setup() {
  const cluster = fakeCluster();
  const store = memoryFailureStore();
  const failures = createScanFailures({
    store,
    events: recordingEvents(),
    reports: { delete: async () => {} },
    inventory: cluster.inventory,
    metrics: createWriterMetrics(new Registry()),
    logger: recordingLogger(),
    cluster: 'c1',
    backoff: DEFAULT_FAILURE_BACKOFF,
    random: () => 1,
  });
  return { cluster, store, failures };
}

describe('scan failures (the writer’s failure state)', () => {
  it('writes with compare-and-set: a view behind the bucket costs a conflict and a read, not a lost round', async () => {
    const { cluster, store, failures } = setup();
    cluster.owners.push(owner('a'));
    await failures.failed(failed(), cluster.owners);
    // The watch has not delivered the next write yet: the view still shows the first record.
    store.lagging(true);
    const first = store.records()[0];
    if (!first) throw new Error('no record');
    const read = await store.read('team-a', IMAGE);
    await store.write({ ...first, failures: 2, lastFailedAt: '2026-11-26T10:02:00.000Z' }, read?.revision);
    await failures.failed(
      failed({ requestedAt: '2026-11-26T10:05:00Z', finishedAt: '2026-11-26T10:05:01Z' }),
      cluster.owners,
    );
    expect(store.conflicts).toBe(1);
    expect(store.records()).toMatchObject([{ failures: 3, lastFailedAt: '2026-11-26T10:05:01Z' }]);
  });

  it('reads the bucket when the view shows no record, so a record the view has not seen yet is counted on', async () => {
    const { cluster, store, failures } = setup();
    cluster.owners.push(owner('a'));
    store.lagging(true); // the view shows nothing, the bucket will hold a record
    await store.write(
      {
        v: 1,
        image: IMAGE,
        namespace: 'team-a',
        code: 'UNAUTHORIZED',
        message: 'no',
        permanent: true,
        failures: 4,
        firstFailedAt: '2026-11-26T09:00:00.000Z',
        lastFailedAt: '2026-11-26T09:30:00.000Z',
        retryAt: '2026-11-26T09:59:00.000Z',
      },
      undefined,
    );
    await failures.failed(failed(), cluster.owners);
    expect(store.conflicts).toBe(0);
    expect(store.records()).toMatchObject([{ failures: 5, firstFailedAt: '2026-11-26T09:00:00.000Z' }]);
  });

  it('counts as failing only images some owner in the namespace still runs', async () => {
    const { cluster, failures } = setup();
    cluster.owners.push(owner('a'), owner('b', 'team-b', ['r/other:1']));
    await failures.failed(failed(), cluster.owners);
    await failures.failed(failed({ namespace: 'team-b', image: 'r/other:1' }), cluster.owners);
    expect([...failures.failing().values()]).toEqual([
      { namespace: 'team-a', reason: 'UNAUTHORIZED', count: 1 },
      { namespace: 'team-b', reason: 'UNAUTHORIZED', count: 1 },
    ]);
    cluster.owners.splice(1, 1); // team-b's owner is gone: its record waits for the bucket's max age
    expect([...failures.failing().values()]).toEqual([
      { namespace: 'team-a', reason: 'UNAUTHORIZED', count: 1 },
    ]);
  });
});
