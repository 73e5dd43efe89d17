import { createLogger } from '@fleetscan/service';
import type { DirectMsgRequest, StoredMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { FLEET_DB_POLL_MS, followFleetDb, versionOf } from './fleet-db.ts';
import { createFakeTime } from './testing/fake-time.ts';

/** A message's headers as nats.js reads them: `get` answers '' for a header that is not there. */
const headers = (op?: string) => ({ get: (k: string) => (k === 'KV-Operation' && op ? op : '') });

/** The state bucket's last message for the key, as a direct get answers it: a fake at the wire. */
function fakeDirect() {
  const asked: { stream: string; query: DirectMsgRequest }[] = [];
  let current: StoredMsg | null = null;
  let failing = 0;
  let seq = 0;
  const entry = (value: string, op?: 'DEL' | 'PURGE', at = ++seq) => {
    const msg = { seq: at, header: headers(op), data: new TextEncoder().encode(value), string: () => value };
    return msg as unknown as StoredMsg;
  };
  return {
    asked,
    direct: {
      async getMessage(stream: string, query: DirectMsgRequest) {
        asked.push({ stream, query });
        if (failing > 0) {
          failing--;
          throw new Error('TIMEOUT');
        }
        return current;
      },
    },
    put(value: string) {
      current = entry(value);
    },
    del() {
      current = entry('', 'DEL');
    },
    /** A lagging replica answers: an older message of the key. */
    stale(value: string, at: number) {
      current = entry(value, undefined, at);
    },
    fail(n: number) {
      failing = n;
    },
  };
}

/** Starts following; `before` sets up the wire before the first read. */
function harness(random = () => 0.5, before: (wire: ReturnType<typeof fakeDirect>) => void = () => {}) {
  const time = createFakeTime();
  const wire = fakeDirect();
  before(wire);
  const seen: string[] = [];
  let failures = 0;
  const follow = followFleetDb({
    direct: wire.direct,
    timers: time,
    logger: createLogger({ service: 'test', level: 'silent' }),
    onVersion: (v) => seen.push(v),
    onFailure: () => failures++,
    random,
  });
  return { time, wire, seen, follow, failures: () => failures };
}

describe('following the fleet DB version with direct gets', () => {
  it('asks for the key’s last message by subject, and reports the first version and then only changes', async () => {
    const h = harness(undefined, (w) => w.put('2026-01-01T00:00:00Z'));
    await h.time.settle();
    expect(h.wire.asked[0]).toEqual({
      stream: 'KV_fleetscan-state',
      query: { last_by_subj: '$KV.fleetscan-state.trivy-db' },
    });
    expect(h.seen).toEqual(['2026-01-01T00:00:00Z']);
    await h.time.advance(3 * FLEET_DB_POLL_MS);
    expect(h.wire.asked.length).toBe(4);
    expect(h.seen).toEqual(['2026-01-01T00:00:00Z']);
    h.wire.put('2026-02-01T00:00:00Z');
    await h.time.advance(FLEET_DB_POLL_MS);
    expect(h.seen).toEqual(['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z']);
    await h.follow.stop();
  });

  it('reports nothing while the key is absent or deleted, and the version put afterwards', async () => {
    const h = harness();
    await h.time.advance(2 * FLEET_DB_POLL_MS);
    h.wire.del();
    await h.time.advance(2 * FLEET_DB_POLL_MS);
    expect(h.seen).toEqual([]);
    h.wire.put('2026-03-01T00:00:00Z');
    await h.time.advance(FLEET_DB_POLL_MS);
    expect(h.seen).toEqual(['2026-03-01T00:00:00Z']);
    await h.follow.stop();
  });

  it('never goes back to an older message a lagging replica answers with', async () => {
    const h = harness(undefined, (w) => w.put('v1'));
    await h.time.settle();
    h.wire.put('v2');
    await h.time.advance(FLEET_DB_POLL_MS);
    expect(h.seen).toEqual(['v1', 'v2']);
    h.wire.stale('v1', 1);
    await h.time.advance(2 * FLEET_DB_POLL_MS);
    expect(h.seen).toEqual(['v1', 'v2']);
    h.wire.put('v3');
    await h.time.advance(FLEET_DB_POLL_MS);
    expect(h.seen).toEqual(['v1', 'v2', 'v3']);
    await h.follow.stop();
  });

  it('jitters the interval by ±20 %', async () => {
    for (const [random, ms] of [
      [0, 0.8 * FLEET_DB_POLL_MS],
      [1, 1.2 * FLEET_DB_POLL_MS],
    ] as const) {
      const h = harness(() => random);
      await h.time.settle();
      await h.time.advance(ms - 1);
      expect(h.wire.asked.length, `random ${random}`).toBe(1);
      await h.time.advance(1);
      expect(h.wire.asked.length, `random ${random}`).toBe(2);
      await h.follow.stop();
    }
  });

  it('backs off on failures, counts each, and goes back to the interval once a read works', async () => {
    const h = harness(
      () => 1,
      (w) => {
        w.put('v1');
        w.fail(3);
      },
    );
    await h.time.settle();
    // Backoff from the interval, doubling: 5 s, 10 s, 20 s (random 1: the ceiling), then the
    // interval again (the fourth read works).
    for (const wait of [5000, 10_000, 20_000]) {
      const before = h.wire.asked.length;
      await h.time.advance(wait - 1);
      expect(h.wire.asked.length).toBe(before);
      await h.time.advance(1);
      expect(h.wire.asked.length).toBe(before + 1);
    }
    expect(h.failures()).toBe(3);
    expect(h.seen).toEqual(['v1']);
    const before = h.wire.asked.length;
    await h.time.advance(1.2 * FLEET_DB_POLL_MS);
    expect(h.wire.asked.length).toBe(before + 1);
    await h.follow.stop();
  });

  it('stops at once, mid-wait, and reads no more', async () => {
    const h = harness();
    await h.time.settle();
    await h.follow.stop();
    const asked = h.wire.asked.length;
    await h.time.advance(10 * FLEET_DB_POLL_MS);
    expect(h.wire.asked.length).toBe(asked);
    expect(h.time.timers).toBe(0);
  });

  it('reads the version from a KV entry’s message: deletions and empty values are none', () => {
    const msg = (value: string, op?: string) =>
      ({ header: headers(op), string: () => value }) as unknown as Pick<StoredMsg, 'header' | 'string'>;
    expect(versionOf(null)).toBeUndefined();
    expect(versionOf(msg('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00Z');
    expect(versionOf(msg('', 'DEL'))).toBeUndefined();
    expect(versionOf(msg('x', 'PURGE'))).toBeUndefined();
    expect(versionOf(msg(''))).toBeUndefined();
  });
});
