import type { BlobStore, ImageScanData, ImageScanResult } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ReportObject } from './apply.ts';
import { createWriterMetrics } from './metrics.ts';
import { createReconciler } from './reconcile.ts';

const image = 'r/app:1';
const owner = (name: string, namespace = 'team-a'): Owner =>
  ({
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    labels: {},
    specHash: 'spec',
    containers: [{ name: 'app', image, kind: 'container' }],
  }) as unknown as Owner;

const data: ImageScanData = {
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  registry: { server: 'r' },
  artifact: { repository: 'app', tag: '1', digest: 'sha256:1' },
  os: { family: 'debian' },
  vulnerabilities: [],
  scannedAt: '2026-11-26T10:00:00Z',
  dbUpdatedAt: '2026-11-01T00:00:00Z',
};

const result: ImageScanResult = {
  v: 1,
  cluster: 'c1',
  image,
  namespace: 'team-a',
  scanConfigHash: 'h',
  status: 'ok',
  blob: 'image/sha256:1',
  cached: false,
  scannedAt: data.scannedAt,
  finishedAt: '2026-11-26T10:00:01Z',
};

/** The writer's view of the cluster, changed by the test; applies recorded at the wire of ReportApi. */
function setup() {
  const owners: Owner[] = [];
  const applied: string[] = [];
  const blobs = { get: async () => data } as unknown as BlobStore;
  const reconciler = createReconciler({
    inventory: {
      ownersUsingImage: (img) => owners.filter((o) => o.containers.some((c) => c.image === img)),
      ownerByUid: (uid) => owners.find((o) => o.uid === uid),
      report: () => undefined,
    },
    blobs,
    api: {
      async apply(_plural: string, obj: ReportObject) {
        applied.push(`${obj.metadata.namespace}/${obj.metadata.name}`);
      },
      async delete() {},
    },
    metrics: createWriterMetrics(new Registry()),
    logger: { info() {}, warn() {}, error() {}, debug() {} } as never,
    settings: { ttlSeconds: 86400, maxReportBytes: 1_000_000 },
    writeConcurrency: 4,
    now: () => Date.parse('2026-11-26T10:00:02Z'),
    lateOwnerDelayMs: 0,
  });
  return { owners, applied, reconciler };
}

describe('reconciler: owners seen after their image was fanned out', () => {
  it('writes a late owner from the remembered result, in that namespace only', async () => {
    const { owners, applied, reconciler } = setup();
    owners.push(owner('a'));
    expect(await reconciler.image(result, 1)).toBe('ack');
    expect(applied).toEqual(['team-a/replicaset-a-app']);

    const late = owner('b');
    owners.push(late);
    await reconciler.ownerAppeared(late);
    expect(applied).toEqual(['team-a/replicaset-a-app', 'team-a/replicaset-b-app']);

    // Once written, a second result for the same report is not applied again.
    await reconciler.ownerAppeared(late);
    expect(await reconciler.image(result, 1)).toBe('ack');
    expect(applied).toHaveLength(2);

    // Another tenant's namespace never gets a result its own request did not ask for.
    const elsewhere = owner('c', 'team-b');
    owners.push(elsewhere);
    await reconciler.ownerAppeared(elsewhere);
    expect(applied).toHaveLength(2);
  });

  it('applies one of two concurrent identical writes of a report', async () => {
    const { owners, applied, reconciler } = setup();
    owners.push(owner('a'));
    await Promise.all([reconciler.image(result, 1), reconciler.image(result, 1)]);
    expect(applied).toEqual(['team-a/replicaset-a-app']);
  });

  it('writes a report again once it was deleted', async () => {
    const { owners, applied, reconciler } = setup();
    owners.push(owner('a'));
    await reconciler.image(result, 1);
    reconciler.reportDeleted('VulnerabilityReport', 'team-a', 'replicaset-a-app');
    await reconciler.image(result, 1);
    expect(applied).toEqual(['team-a/replicaset-a-app', 'team-a/replicaset-a-app']);
  });

  it('does nothing for an owner whose image was not fanned out lately', async () => {
    const { owners, applied, reconciler } = setup();
    const o = owner('a');
    owners.push(o);
    await reconciler.ownerAppeared(o);
    expect(applied).toEqual([]);
  });
});
