import { KubeError, KubeErrorCode } from '@fleetscan/kube';
import { ANNOTATION_CONTENT_HASH, MANAGED_BY_FLEETSCAN, VULNERABILITY_REPORT } from '@fleetscan/reports';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createWriterMetrics } from './metrics.ts';
import { createFakeTime } from './testing/fake-time.ts';
import { fakeCluster, recordingApi } from './testing/fixtures.ts';
import {
  createWriteQueue,
  currentState,
  decideWrite,
  RECENT_WRITE_TRUST_MS,
  type WritableReport,
} from './write-queue.ts';

const KIND = VULNERABILITY_REPORT.kind;
const MINE = { managedBy: MANAGED_BY_FLEETSCAN };
const T0 = Date.parse('2026-11-26T10:00:00Z');

const report = (o: { name?: string; hash?: string; at?: number } = {}): WritableReport => ({
  kind: KIND,
  metadata: {
    name: o.name ?? 'replicaset-a-app',
    namespace: 'team-a',
    annotations: { [ANNOTATION_CONTENT_HASH]: o.hash ?? 'h1' },
  },
  report: { updateTimestamp: new Date(o.at ?? T0).toISOString() },
});

describe('decideWrite', () => {
  const incoming = { ownerUid: 'u1', contentHash: 'h1', updatedAtMs: T0 };

  it('writes a report that does not exist or is another owner’s', () => {
    expect(decideWrite(undefined, incoming)).toBe('write');
    expect(
      decideWrite({ ...MINE, ownerUid: 'u0', contentHash: 'h1', updatedAtMs: T0 + 1000 }, incoming),
    ).toBe('write');
  });

  it('never replaces a newer scan with an older one', () => {
    expect(decideWrite({ ...MINE, ownerUid: 'u1', contentHash: 'h0', updatedAtMs: T0 + 1 }, incoming)).toBe(
      'older',
    );
    const forSpec = { ...incoming, specHash: 's1' };
    expect(
      decideWrite(
        { ...MINE, ownerUid: 'u1', contentHash: 'h0', updatedAtMs: T0 + 1, specHash: 's1' },
        forSpec,
      ),
    ).toBe('older');
  });

  it('writes a report for the owner’s new pod spec over one for its old spec, whatever the scan times', () => {
    // A StatefulSet updated in place to an image scanned (and cached) before the image it ran: the
    // same report, the same owner, an older scan time. Dropped as "older", the report kept the old
    // spec hash and the old image's findings for good (the soak and the fault tests found it).
    const newSpec = { ...incoming, specHash: 's2' };
    expect(
      decideWrite(
        { ...MINE, ownerUid: 'u1', contentHash: 'h0', updatedAtMs: T0 + 60_000, specHash: 's1' },
        newSpec,
      ),
    ).toBe('write');
  });

  it('skips the same content from the same scan; writes new content or a newer scan', () => {
    expect(decideWrite({ ...MINE, ownerUid: 'u1', contentHash: 'h1', updatedAtMs: T0 }, incoming)).toBe(
      'unchanged',
    );
    expect(decideWrite({ ...MINE, ownerUid: 'u1', contentHash: 'h0', updatedAtMs: T0 }, incoming)).toBe(
      'write',
    );
    expect(decideWrite({ ...MINE, ownerUid: 'u1', contentHash: 'h1', updatedAtMs: T0 - 1 }, incoming)).toBe(
      'write',
    );
    // A report without a time is rewritten.
    expect(decideWrite({ ...MINE, ownerUid: 'u1', contentHash: 'h1' }, incoming)).toBe('write');
  });

  it("adopts another tool's report (trivy-operator's) whatever scan it holds, even a newer one", () => {
    const theirs = { ownerUid: 'u1', contentHash: 'h1', updatedAtMs: T0 + 60_000 };
    expect(decideWrite({ ...theirs, managedBy: 'trivy-operator' }, incoming)).toBe('adopt');
    expect(decideWrite(theirs, incoming)).toBe('adopt');
    // Another owner's report of another tool: the same, it is replaced as a whole.
    expect(decideWrite({ ...theirs, ownerUid: 'u0', managedBy: 'trivy-operator' }, incoming)).toBe('adopt');
  });
});

describe('currentState: own recent writes over a lagging watch', () => {
  const own = { ownerUid: 'u1', contentHash: 'h1', updatedAtMs: T0, atMs: T0 };

  it('trusts its own write while the watch does not show it, for RECENT_WRITE_TRUST_MS', () => {
    expect(currentState(undefined, own, T0 + RECENT_WRITE_TRUST_MS - 1)).toBe(own);
    expect(currentState(undefined, own, T0 + RECENT_WRITE_TRUST_MS)).toBeUndefined();
  });

  it('takes the watch when it shows a newer report (another writer, a later scan)', () => {
    const seen = { ...MINE, ownerUid: 'u1', contentHash: 'h2', updatedAtMs: T0 + 1 };
    expect(currentState(seen, own, T0 + 1)).toBe(seen);
    const lagging = { ...MINE, ownerUid: 'u1', contentHash: 'h0', updatedAtMs: T0 - 1 };
    expect(currentState(lagging, own, T0 + 1)).toBe(own);
  });
});

function setup(o: { maxRemembered?: number } = {}) {
  const time = createFakeTime(T0);
  const cluster = fakeCluster();
  const api = recordingApi();
  const metrics = createWriterMetrics(new Registry());
  const queue = createWriteQueue({
    reports: cluster.inventory,
    api,
    metrics,
    clock: time,
    ...(o.maxRemembered !== undefined && { maxRemembered: o.maxRemembered }),
  });
  const count = async (outcome: string) =>
    (await metrics.reports.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { time, cluster, api, queue, count };
}

describe('write queue', () => {
  it('applies one of two identical writes of a report made at once', async () => {
    const { api, queue, count } = setup();
    expect(await Promise.all([queue.write(KIND, report(), 'u1'), queue.write(KIND, report(), 'u1')])).toEqual(
      ['written', 'unchanged'],
    );
    expect(api.applied).toEqual(['team-a/replicaset-a-app']);
    expect(await count('unchanged')).toBe(1);
  });

  it('writes one report at a time, in arrival order; other reports do not wait', async () => {
    const { api, queue } = setup();
    api.hold();
    const first = queue.write(KIND, report({ hash: 'h1', at: T0 }), 'u1');
    const second = queue.write(KIND, report({ hash: 'h2', at: T0 + 1000 }), 'u1');
    const other = queue.write(KIND, report({ name: 'replicaset-b-app' }), 'u2');
    await new Promise((r) => setImmediate(r));
    // The second write of replicaset-a-app waits for the first; replicaset-b-app does not.
    expect(api.maxInFlight()).toBe(2);
    api.release();
    expect(await Promise.all([first, second, other])).toEqual(['written', 'written', 'written']);
    const hashes = api.objects
      .filter((o) => o.metadata.name === 'replicaset-a-app')
      .map((o) => (o as WritableReport).metadata.annotations?.[ANNOTATION_CONTENT_HASH]);
    expect(hashes).toEqual(['h1', 'h2']);
  });

  it('a late older scan queued behind a newer one is not applied', async () => {
    const { api, queue, count } = setup();
    const newer = queue.write(KIND, report({ hash: 'h2', at: T0 + 1000 }), 'u1');
    const older = queue.write(KIND, report({ hash: 'h1', at: T0 }), 'u1');
    expect(await Promise.all([newer, older])).toEqual(['written', 'older']);
    expect(api.applied).toHaveLength(1);
    expect(await count('older')).toBe(1);
  });

  it('never replaces a newer report its watch shows with an older scan', async () => {
    const { api, queue, cluster } = setup();
    cluster.seeReport({
      kind: KIND,
      namespace: 'team-a',
      name: 'replicaset-a-app',
      ownerUid: 'u1',
      updatedAtMs: T0 + 5000,
    });
    expect(await queue.write(KIND, report({ at: T0 }), 'u1')).toBe('older');
    expect(api.applied).toEqual([]);
  });

  it('replaces a report trivy-operator wrote as a whole, newer scan or not, then owns it like its own', async () => {
    const { api, queue, cluster, count } = setup();
    cluster.seeReport({
      kind: KIND,
      namespace: 'team-a',
      name: 'replicaset-a-app',
      ownerUid: 'u1',
      updatedAtMs: T0 + 5000,
      managedBy: 'trivy-operator',
    });
    expect(await queue.write(KIND, report({ at: T0 }), 'u1')).toBe('adopted');
    expect(api.replaced).toEqual(['team-a/replicaset-a-app']);
    expect(api.applied).toEqual(['team-a/replicaset-a-app']);
    expect(await count('adopted')).toBe(1);
    // The watch still shows theirs: the own write counts, and the same scan is not written again.
    expect(await queue.write(KIND, report({ at: T0 }), 'u1')).toBe('unchanged');
    expect(api.replaced).toHaveLength(1);
  });

  it('trusts its own write until the watch has surely caught up, then the watch', async () => {
    const { api, queue, time } = setup();
    await queue.write(KIND, report(), 'u1');
    // The watch does not show the write yet: the same report is not applied again.
    await time.advance(RECENT_WRITE_TRUST_MS - 1);
    expect(await queue.write(KIND, report(), 'u1')).toBe('unchanged');
    // Past the trust the watch is what counts; it still shows no report, so it is written again.
    await time.advance(1);
    expect(await queue.write(KIND, report(), 'u1')).toBe('written');
    expect(api.applied).toHaveLength(2);
  });

  it('writes a report again once its watch saw it deleted', async () => {
    const { api, queue } = setup();
    await queue.write(KIND, report(), 'u1');
    queue.forget(KIND, 'team-a', 'replicaset-a-app');
    expect(await queue.write(KIND, report(), 'u1')).toBe('written');
    expect(api.applied).toHaveLength(2);
  });

  it('a failed write is thrown and counted, and does not hold back the next write of the report', async () => {
    const { api, queue, count } = setup();
    let applies = 0;
    api.fail = () => (applies++ === 0 ? new KubeError(KubeErrorCode.Conflict, 'conflict') : undefined);
    const failing = queue.write(KIND, report(), 'u1');
    const next = queue.write(KIND, report(), 'u1');
    await expect(failing).rejects.toThrow('conflict');
    expect(await next).toBe('written');
    expect(await count('conflict')).toBe(1);
    api.fail = () => new Error('boom');
    await expect(queue.write(KIND, report({ hash: 'h9' }), 'u1')).rejects.toThrow('boom');
    expect(await count('failed')).toBe(1);
  });

  it('a report whose namespace is gone is dropped, not retried', async () => {
    const { api, queue, count } = setup();
    api.fail = () => new KubeError(KubeErrorCode.NotFound, 'namespaces "team-a" not found');
    expect(await queue.write(KIND, report(), 'u1')).toBe('dropped');
    expect(await count('dropped')).toBe(1);
  });

  it('remembers a bounded number of own writes, and none past their trust', async () => {
    const { queue, time } = setup({ maxRemembered: 3 });
    for (let i = 0; i < 5; i++) await queue.write(KIND, report({ name: `r${i}` }), 'u1');
    expect(queue.remembered()).toBe(3);
    await time.advance(RECENT_WRITE_TRUST_MS);
    await queue.write(KIND, report({ name: 'r5' }), 'u1');
    expect(queue.remembered()).toBe(1);
  });
});
