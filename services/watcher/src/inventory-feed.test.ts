import { InventoryMessageSchema } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { createLogger, type Timers } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { createInventoryFeed, digestOfImageID } from './inventory-feed.ts';

const owner = (uid: string, name = uid, image = 'reg/app:1'): Owner => ({
  kind: 'ReplicaSet',
  apiVersion: 'apps/v1',
  namespace: 'ns',
  name,
  uid,
  labels: {},
  specHash: 'h',
  containers: [{ name: 'app', image, kind: 'container' }],
  workload: { kind: 'ReplicaSet' } as Owner['workload'],
});

/** Timers run by hand: a test fires what is due. */
function manualTimers() {
  const due: (() => void)[] = [];
  const timers: Timers = {
    after: (_ms, fn) => {
      due.push(fn);
      return () => due.splice(due.indexOf(fn), 1);
    },
    every: () => () => {},
  };
  return {
    timers,
    fire: () => {
      for (const f of due.splice(0)) f();
    },
  };
}

function harness(fail: { next: number } = { next: 0 }) {
  const sent: { subject: string; msg: ReturnType<typeof InventoryMessageSchema.parse>; ttl?: string }[] = [];
  const t = manualTimers();
  const feed = createInventoryFeed({
    cluster: 'a',
    publish: async (subject, data, ttl) => {
      if (fail.next > 0) {
        fail.next--;
        throw new Error('no responders');
      }
      sent.push({ subject, msg: InventoryMessageSchema.parse(JSON.parse(data)), ...(ttl && { ttl }) });
    },
    clock: { now: () => new Date(1_700_000_000_000) },
    timers: t.timers,
    logger: createLogger({ service: 'test', level: 'silent' }),
    random: () => 0,
  });
  return { feed, sent, fire: t.fire };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('the watcher’s inventory feed', () => {
  it('publishes nothing before the first list, then every owner and the synced mark last', async () => {
    const { feed, sent } = harness();
    feed.ownerChanged(owner('u1'), undefined);
    await settle();
    expect(sent).toEqual([]);
    feed.synced([owner('u1'), owner('u2')]);
    for (let i = 0; i < 5; i++) await settle();
    expect(sent.map((s) => s.subject)).toEqual([
      'fleetscan.inventory.u1.a',
      'fleetscan.inventory.u2.a',
      'fleetscan.inventory._synced.a',
    ]);
    expect(sent[2]?.msg).toMatchObject({ type: 'synced', owners: 2, epoch: 1_700_000_000_000 });
  });

  it('publishes a deletion as a tombstone that expires, and a recreated owner’s old uid as deleted', async () => {
    const { feed, sent } = harness();
    feed.synced([]);
    await settle();
    sent.length = 0;
    feed.ownerChanged(undefined, owner('u1'));
    feed.ownerChanged(owner('u3', 'same'), owner('u2', 'same'));
    for (let i = 0; i < 5; i++) await settle();
    expect(sent.map((s) => [s.subject, s.msg.type, s.ttl])).toEqual([
      ['fleetscan.inventory.u1.a', 'deleted', '24h'],
      ['fleetscan.inventory.u2.a', 'deleted', '24h'],
      ['fleetscan.inventory.u3.a', 'owner', undefined],
    ]);
  });

  it('keeps a failed publish, coalesced with later changes, and sends the latest after the backoff', async () => {
    const fail = { next: 1 };
    const { feed, sent, fire } = harness(fail);
    feed.synced([owner('u1', 'x', 'reg/app:1')]);
    await settle();
    expect(sent).toEqual([]);
    feed.ownerChanged(owner('u1', 'x', 'reg/app:2'), owner('u1', 'x', 'reg/app:1'));
    expect(feed.pending).toBe(1);
    fire();
    for (let i = 0; i < 5; i++) await settle();
    expect(sent.map((s) => (s.msg.type === 'owner' ? s.msg.containers[0]?.image : s.msg.type))).toEqual([
      'reg/app:2',
      'synced',
    ]);
  });

  it('reads a digest out of a pod status imageID', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(digestOfImageID(`docker-pullable://reg/app@${d}`)).toBe(d);
    expect(digestOfImageID('reg/app:1')).toBeUndefined();
  });
});
