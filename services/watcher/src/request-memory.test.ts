import { describe, expect, it } from 'vitest';
import { createRequestMemory, type EvictionReason } from './request-memory.ts';
import { seededRandom } from './testing/random.ts';

const DUP = 120_000;
const SHARE = 30_000;
const RETRY = 600_000;

function memory(maxEntries = 1000) {
  const evicted: Partial<Record<EvictionReason, number>> = {};
  const m = createRequestMemory({
    duplicateWindowMs: DUP,
    maxEntries,
    onEvict: (reason, n) => {
      evicted[reason] = (evicted[reason] ?? 0) + n;
    },
  });
  return { m, evicted };
}

describe('request memory', () => {
  it('keeps an ask pending for its window, then asks again with the next generation', () => {
    const { m } = memory();
    expect(m.ask('k', 'g', SHARE, 0)).toEqual({ msgID: 'k#0' });
    expect(m.ask('k', 'g', SHARE, 29_999)).toEqual({ pending: true });
    expect(m.ask('k', 'g', SHARE, 30_000)).toEqual({ msgID: 'k#1' });
    expect(m.ask('k', 'g', SHARE, 40_000)).toEqual({ pending: true });
  });

  it('keeps an ask pending past its window while its lane is still queued, up to 4 windows', () => {
    // 10 000 owners: a cold start's bulk backlog outlasted REQUEST_RETRY_SECONDS, and what was still
    // queued was asked again (1.30 writes per report).
    let bulkQueued = true;
    const m = createRequestMemory({
      duplicateWindowMs: DUP,
      maxEntries: 1000,
      queued: (lane) => lane === 'bulk' && bulkQueued,
    });
    expect(m.ask('b', 'g', RETRY, 0, 'bulk')).toEqual({ msgID: 'b#0' });
    expect(m.ask('u', 'h', SHARE, 0, 'urgent')).toEqual({ msgID: 'u#0' });
    // The urgent lane holds nothing: its ask goes again at its usual time.
    expect(m.ask('u', 'h', SHARE, SHARE, 'urgent')).toEqual({ msgID: 'u#1' });
    expect(m.ask('b', 'g', RETRY, RETRY + 1, 'bulk')).toEqual({ pending: true });
    // A sweep keeps it (and so its id): only the urgent key, past its time, leaves.
    expect(m.sweep(RETRY + 1)).toBe(1);
    expect(m.ask('b', 'g', RETRY, RETRY + 2, 'bulk')).toEqual({ pending: true });
    // A bound: nothing waits forever behind a queue that never empties.
    expect(m.ask('b', 'g', RETRY, 4 * RETRY, 'bulk')).toEqual({ msgID: 'b#1' });
    // Once the queue is empty, the usual time again.
    bulkQueued = false;
    expect(m.ask('b', 'g', RETRY, 5 * RETRY, 'bulk')).toEqual({ msgID: 'b#2' });
  });

  it('lets an urgent ask overtake a pending bulk one, with the next id; not the other way round', () => {
    const { m } = memory();
    expect(m.ask('k', 'g', SHARE, 0, 'bulk')).toEqual({ msgID: 'k#0' });
    expect(m.ask('k', 'g', SHARE, 1000, 'bulk')).toEqual({ pending: true });
    expect(m.ask('k', 'g', SHARE, 2000, 'urgent')).toEqual({ msgID: 'k#1' });
    expect(m.ask('k', 'g', SHARE, 3000, 'urgent')).toEqual({ pending: true });
    expect(m.ask('k', 'g', SHARE, 4000, 'bulk')).toEqual({ pending: true });
    expect(m.pending).toBe(1);
    // Urgent is the default.
    expect(m.ask('j', 'g', SHARE, 0)).toEqual({ msgID: 'j#0' });
    expect(m.ask('j', 'g', SHARE, 1, 'urgent')).toEqual({ pending: true });
  });

  it('after a retry (an answer, a deleted report) the next ask publishes at once with a new id', () => {
    const { m } = memory();
    m.ask('k', 'g', RETRY, 0);
    m.retry('k');
    m.retry('k');
    expect(m.pending).toBe(0);
    expect(m.ask('k', 'g', RETRY, 1)).toEqual({ msgID: 'k#1' });
    m.retry('unknown');
    expect(m.size).toBe(1);
  });

  it('forgets an answered request once its id is out of the duplicate window, and starts over at #0', () => {
    const { m, evicted } = memory();
    m.ask('k', 'g', RETRY, 0);
    m.retry('k');
    expect(m.sweep(DUP - 1)).toBe(0);
    expect(m.sweep(DUP)).toBe(1);
    expect(evicted).toEqual({ answered: 1 });
    expect(m.size).toBe(0);
    expect(m.ask('k', 'g', RETRY, DUP)).toEqual({ msgID: 'k#0' });
  });

  it('keeps a pending request for as long as it holds back asks, and forgets it after', () => {
    const { m, evicted } = memory();
    m.ask('cfg', 'owner', RETRY, 0);
    m.ask('img', 'image', SHARE, 0);
    // The image's ask stops holding back at 30 s, but its id is in JetStream's window until 120 s.
    m.sweep(DUP - 1);
    expect(m.size).toBe(2);
    m.sweep(DUP);
    expect(m.size).toBe(1);
    m.sweep(RETRY - 1);
    expect(m.ask('cfg', 'owner', RETRY, RETRY - 1)).toEqual({ pending: true });
    m.sweep(RETRY);
    expect(m.size).toBe(0);
    expect(evicted).toEqual({ idle: 2 });
  });

  it('forgets the requests of an owner that went away once their ids are out of the window', () => {
    const { m, evicted } = memory();
    m.ask('cfg.a', 'uid-a', RETRY, 0);
    m.ask('cfg.a2', 'uid-a', RETRY, 0);
    m.ask('cfg.b', 'uid-b', RETRY, 0);
    m.gone('uid-a');
    m.gone('uid-never-asked');
    m.sweep(DUP);
    expect(m.size).toBe(1);
    expect(evicted).toEqual({ gone: 2 });
  });

  it('a group that comes back while its ask is pending is not forgotten as gone', () => {
    const { m } = memory();
    m.ask('cfg', 'owner', RETRY, 0);
    m.gone('owner');
    expect(m.ask('cfg', 'owner', RETRY, 1000)).toEqual({ pending: true });
    m.sweep(DUP);
    expect(m.size).toBe(1);
  });

  it('drops the oldest asks past the cap, and counts them', () => {
    const { m, evicted } = memory(3);
    for (let i = 0; i < 5; i++) m.ask(`k${i}`, `g${i}`, RETRY, i);
    // k2 asked again moves to the end: the newest now, so k3 goes before it.
    m.ask('k2', 'g2', 0, 10);
    m.ask('k5', 'g5', RETRY, 11);
    expect(m.size).toBe(3);
    expect(evicted).toEqual({ cap: 3 });
    expect(m.ask('k2', 'g2', RETRY, 12)).toEqual({ pending: true });
    expect(m.ask('k0', 'g0', RETRY, 12)).toEqual({ msgID: 'k0#0' });
  });

  it('sweeping never changes a decision, and never reuses an id inside the duplicate window', () => {
    const random = seededRandom(12);
    const swept = memory(1_000_000).m;
    const kept = createRequestMemory({ duplicateWindowMs: DUP, maxEntries: 1_000_000 });
    const lastIds = new Map<string, number>();
    // Groups are owners (uids) and images in namespaces; a gone group is not asked for again.
    const slots = Array.from({ length: 7 }, (_, i) => `g${i}`);
    let groups = slots.length;
    let t = 0;
    for (let step = 0; step < 20_000; step++) {
      t += Math.floor(random() * 20_000);
      const slot = Math.floor(random() * slots.length);
      const group = slots[slot] ?? 'g';
      const j = Math.floor(random() * 6);
      const key = `${group}.${j}`;
      const op = random();
      if (op < 0.6) {
        const fresh = j % 2 ? SHARE : RETRY;
        const a = swept.ask(key, group, fresh, t);
        const b = kept.ask(key, group, fresh, t);
        expect('pending' in a).toBe('pending' in b);
        if ('msgID' in a) {
          const at = lastIds.get(a.msgID);
          expect(at === undefined || t - at >= DUP).toBe(true);
          lastIds.set(a.msgID, t);
        }
      } else if (op < 0.97) {
        swept.retry(key);
        kept.retry(key);
      } else {
        swept.gone(group);
        kept.gone(group);
        slots[slot] = `g${groups++}`;
      }
      if (step % 50 === 0) swept.sweep(t);
    }
    expect(groups).toBeGreaterThan(100);
    expect(kept.size).toBeGreaterThan(500);
    expect(swept.size).toBeLessThanOrEqual(slots.length * 6);
  });
});
