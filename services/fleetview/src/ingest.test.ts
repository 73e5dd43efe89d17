import { DatabaseSync } from 'node:sqlite';
import { findingsKey, subjects } from '@fleetscan/bus';
import { createLogger, type Timers } from '@fleetscan/service';
import type { DirectBatchOptions, StoredMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { type FleetStreamReader, runIngest } from './ingest.ts';
import { createModel } from './model.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

/**
 * The fleet stream at the wire: stream info, and batched direct gets that answer as nats-server
 * does — the first messages at or after `seq`, each with how many follow it (`pending`), and
 * "message not found" when there is none.
 */
function fakeStream() {
  const stored: { seq: number; subject: string; data: Uint8Array }[] = [];
  let lastSeq = 0;
  let failing = 0;
  const asked: DirectBatchOptions[] = [];
  const jsm: FleetStreamReader = {
    streams: {
      info: async () =>
        ({ state: { last_seq: lastSeq, messages: stored.length } }) as Awaited<
          ReturnType<FleetStreamReader['streams']['info']>
        >,
    },
    direct: {
      getBatch: async (_stream, opts) => {
        asked.push(opts);
        if (failing > 0) {
          failing--;
          throw new Error('TIMEOUT');
        }
        const from = stored.filter((m) => m.seq >= (opts.seq ?? 0));
        if (from.length === 0) throw new Error('message not found');
        const batch = from
          .slice(0, opts.batch ?? 1024)
          .map(
            (m, i) =>
              ({ seq: m.seq, subject: m.subject, data: m.data, pending: from.length - i - 1 }) as StoredMsg,
          );
        return (async function* () {
          yield* batch;
        })() as unknown as Awaited<ReturnType<FleetStreamReader['direct']['getBatch']>>;
      },
    },
  };
  return {
    jsm,
    asked,
    publish(subject: string, body: unknown) {
      stored.push({ seq: ++lastSeq, subject, data: enc(body) });
    },
    /** The stream dropped a message (a subject's older one, an expired tombstone). */
    drop(seq: number) {
      stored.splice(
        stored.findIndex((m) => m.seq === seq),
        1,
      );
    },
    fail(n: number) {
      failing = n;
    },
  };
}

/** Timers fired by hand: `fire()` runs every wait that is pending (the idle pause between polls). */
function manualTimers() {
  const due = new Map<number, { ms: number; fn: () => void }>();
  let id = 0;
  const timers: Timers = {
    after: (ms, fn) => {
      const k = id++;
      due.set(k, { ms, fn });
      return () => void due.delete(k);
    },
    every: () => () => {},
  };
  return {
    timers,
    waits: () => [...due.values()].map((d) => d.ms),
    fire() {
      const fns = [...due.values()].map((d) => d.fn);
      due.clear();
      for (const f of fns) f();
    },
  };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function harness(o: { batch?: number; lastSeq?: number } = {}) {
  const wire = fakeStream();
  const t = manualTimers();
  const model = createModel(new DatabaseSync(':memory:'));
  if (o.lastSeq) model.setLastSeq(o.lastSeq, 0);
  let transactions = 0;
  const transaction = model.transaction.bind(model);
  model.transaction = (fn) => {
    transactions++;
    transaction(fn);
  };
  const kinds: string[] = [];
  let caughtUp = 0;
  const abort = new AbortController();
  const start = () =>
    runIngest({
      jsm: wire.jsm,
      model,
      logger: createLogger({ service: 'test', level: 'silent' }),
      timers: t.timers,
      clock: { now: () => new Date(1_700_000_000_000) },
      signal: abort.signal,
      onMessage: (k) => kinds.push(k),
      onCaughtUp: () => caughtUp++,
      ...(o.batch && { batch: o.batch }),
    });
  return {
    wire,
    t,
    model,
    kinds,
    abort,
    start,
    transactions: () => transactions,
    caughtUp: () => caughtUp,
  };
}

const owner = (uid: string, cluster = 'a') =>
  [subjects.inventoryOwner(uid, cluster), ownerMsg(cluster, uid)] as const;

describe('reading the fleet stream with direct gets', () => {
  it('rebuilds from the start in batches, one transaction each, without waiting while messages are pending', async () => {
    const h = harness({ batch: 2 });
    for (const u of ['u1', 'u2', 'u3']) h.wire.publish(...owner(u));
    h.wire.publish(
      subjects.findings(findingsKey('shop', 'reg/app:1'), 'a'),
      findingsMsg('a', 'reg/app:1', []),
    );
    // Poison: names another cluster than its subject. Counted, skipped, never read again.
    h.wire.publish(subjects.inventoryOwner('u9', 'b'), ownerMsg('a', 'u9'));
    const run = h.start();
    await settle();
    expect(h.wire.asked.map((a) => a.seq)).toEqual([1, 3, 5]);
    expect(h.wire.asked.every((a) => a.batch === 2)).toBe(true);
    expect(h.transactions()).toBe(3);
    expect(h.kinds).toEqual(['inventory', 'inventory', 'inventory', 'findings', 'invalid']);
    expect(h.model.counts().owners).toBe(3);
    expect(h.model.lastSeq()).toBe(5);
    expect(h.caughtUp()).toBe(1);
    // Nothing more: one idle wait before the next read.
    expect(h.t.waits()).toEqual([1000]);
    h.abort.abort();
    await run;
  });

  it('keeps polling from the last sequence it applied, and is caught up once', async () => {
    const h = harness();
    h.wire.publish(...owner('u1'));
    const run = h.start();
    await settle();
    expect(h.caughtUp()).toBe(1);
    // An idle poll: nothing at or after 2 ("message not found") is no failure.
    h.t.fire();
    await settle();
    expect(h.wire.asked.map((a) => a.seq)).toEqual([1, 2]);
    h.wire.publish(...owner('u2'));
    h.t.fire();
    await settle();
    expect(h.wire.asked.map((a) => a.seq)).toEqual([1, 2, 2]);
    expect(h.model.counts().owners).toBe(2);
    expect(h.model.lastSeq()).toBe(2);
    expect(h.caughtUp()).toBe(1);
    h.abort.abort();
    await run;
  });

  it('resumes after the model’s last sequence', async () => {
    const h = harness({ lastSeq: 2 });
    for (const u of ['u1', 'u2', 'u3']) h.wire.publish(...owner(u));
    const run = h.start();
    await settle();
    expect(h.wire.asked[0]?.seq).toBe(3);
    expect(h.kinds).toEqual(['inventory']);
    expect(h.model.lastSeq()).toBe(3);
    h.abort.abort();
    await run;
  });

  it('skips what the stream dropped, and is caught up when its last message is gone', async () => {
    const h = harness({ batch: 10 });
    for (const u of ['u1', 'u2', 'u3', 'u4']) h.wire.publish(...owner(u));
    h.wire.drop(2);
    h.wire.drop(4);
    const run = h.start();
    await settle();
    expect(h.kinds).toEqual(['inventory', 'inventory']);
    expect(h.model.lastSeq()).toBe(3);
    // The stream ended at 4 when ingest started; 4 expired, nothing is pending after 3.
    expect(h.caughtUp()).toBe(1);
    h.abort.abort();
    await run;
  });

  it('is caught up at once on an empty stream', async () => {
    const h = harness();
    const run = h.start();
    await settle();
    expect(h.caughtUp()).toBe(1);
    expect(h.transactions()).toBe(0);
    h.abort.abort();
    await run;
  });

  it('reads again at once after a full batch, even when the server does not say what is pending', async () => {
    const h = harness({ batch: 2 });
    for (const u of ['u1', 'u2', 'u3']) h.wire.publish(...owner(u));
    const getBatch = h.wire.jsm.direct.getBatch;
    // A server before batch pending counts: every message's pending is -1.
    h.wire.jsm.direct.getBatch = async (s, o) => {
      const it = await getBatch(s, o);
      return (async function* () {
        for await (const m of it) yield { ...m, seq: m.seq, subject: m.subject, data: m.data, pending: -1 };
      })() as unknown as typeof it;
    };
    const run = h.start();
    await settle();
    expect(h.wire.asked.map((a) => a.seq)).toEqual([1, 3]);
    expect(h.model.counts().owners).toBe(3);
    expect(h.t.waits()).toEqual([1000]);
    h.abort.abort();
    await run;
  });

  it('fails on a failed read, having applied nothing of it; a new run starts where the model stopped', async () => {
    const h = harness({ batch: 1 });
    for (const u of ['u1', 'u2']) h.wire.publish(...owner(u));
    const first = h.start();
    await settle();
    expect(h.model.lastSeq()).toBe(2);
    h.wire.publish(...owner('u3'));
    h.wire.fail(1);
    h.t.fire();
    await expect(first).rejects.toThrow(/TIMEOUT/);
    expect(h.model.lastSeq()).toBe(2);
    const asked = h.wire.asked.length;
    const second = h.start();
    await settle();
    // From 3; then 4 (a full batch of one), where nothing is yet.
    expect(h.wire.asked.slice(asked).map((a) => a.seq)).toEqual([3, 4]);
    expect(h.model.lastSeq()).toBe(3);
    h.abort.abort();
    await second;
  });

  it('stops during an idle wait when aborted', async () => {
    const h = harness();
    const run = h.start();
    await settle();
    expect(h.t.waits()).toEqual([1000]);
    h.abort.abort();
    await run;
    expect(h.t.waits()).toEqual([]);
  });
});
