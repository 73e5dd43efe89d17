import { createLogger, type Timers } from '@fleetscan/service';
import type { DirectBatchOptions, DirectStreamAPI, StreamAPI } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { FAILURES_POLL_MS, readFailures } from './failure-view.ts';
import { failureKey, nextRecord, type ScanFailureRecord } from './scan-failures.ts';

const BUCKET = 'fleetscan-scan-failures-a';

const record = (image: string, n = 1): ScanFailureRecord => {
  let r: ScanFailureRecord | undefined;
  for (let i = 0; i < n; i++) {
    r = nextRecord(
      r,
      {
        namespace: 'team',
        image,
        error: { code: 'NOT_FOUND', message: 'manifest unknown', permanent: true },
        // Round i: asked after round i-1 failed, so each is a new round.
        finishedAt: new Date(Date.UTC(2026, 0, 1, i, 0, 10)).toISOString(),
        requestedAt: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
      },
      { baseMs: 60_000, maxMs: 3_600_000 },
      () => 1,
    );
  }
  if (!r) throw new Error('no record');
  return r;
};

/**
 * The bucket's stream at the wire, as nats-server keeps and serves it: one message per key (a put
 * replaces the key's previous message, a delete leaves a marker), batched direct gets answering
 * the first messages at or after `seq` with how many follow each, "message not found" past the end.
 */
function fakeBucket() {
  let stored: { seq: number; subject: string; op: string; data: Uint8Array }[] = [];
  let last = 0;
  let failing = 0;
  // The stream's creation time; undefined while it is deleted.
  let created: string | undefined = '2026-01-01T00:00:00Z';
  const asked: DirectBatchOptions[] = [];
  const write = (key: string, op: string, data: Uint8Array) => {
    const subject = `$KV.${BUCKET}.${key}`;
    const i = stored.findIndex((m) => m.subject === subject);
    if (i >= 0) stored.splice(i, 1);
    stored.push({ seq: ++last, subject, op, data });
  };
  const direct: Pick<DirectStreamAPI, 'getBatch'> = {
    async getBatch(stream, opts) {
      expect(stream).toBe(`KV_${BUCKET}`);
      asked.push(opts);
      if (failing > 0) {
        failing--;
        throw new Error('TIMEOUT');
      }
      if (!created) throw Object.assign(new Error('stream not found'), { api_error: { code: 404 } });
      const from = stored.filter((m) => m.seq >= (opts.seq ?? 0));
      if (from.length === 0) throw new Error('message not found');
      const batch = from.slice(0, opts.batch ?? 1024).map((m, i) => ({
        seq: m.seq,
        subject: m.subject,
        data: m.data,
        header: { get: (k: string) => (k === 'KV-Operation' ? m.op : '') },
        pending: from.length - i - 1,
      }));
      return (async function* () {
        yield* batch;
      })() as unknown as Awaited<ReturnType<DirectStreamAPI['getBatch']>>;
    },
  };
  const streams = {
    info: async (stream: string) => {
      expect(stream).toBe(`KV_${BUCKET}`);
      if (!created) throw Object.assign(new Error('stream not found'), { api_error: { code: 404 } });
      return { created } as Awaited<ReturnType<StreamAPI['info']>>;
    },
  };
  return {
    direct,
    streams,
    asked,
    /** An operator deletes the bucket's stream. */
    deleteStream: () => {
      created = undefined;
      stored = [];
      last = 0;
    },
    /** The scanners make it again: its sequences begin at 1. */
    makeAgain: (at: string) => {
      created = at;
    },
    put: (r: ScanFailureRecord) =>
      write(failureKey(r.namespace, r.image), '', new TextEncoder().encode(JSON.stringify(r))),
    putRaw: (key: string, text: string) => write(key, '', new TextEncoder().encode(text)),
    del: (r: ScanFailureRecord, op: 'DEL' | 'PURGE' = 'DEL') =>
      write(failureKey(r.namespace, r.image), op, new Uint8Array()),
    fail: (n: number) => {
      failing = n;
    },
  };
}

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
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function harness(
  setup: (b: ReturnType<typeof fakeBucket>) => void = () => {},
  o: { watchStream?: boolean } = {},
) {
  const bucket = fakeBucket();
  setup(bucket);
  const t = manualTimers();
  const changes: string[] = [];
  const gone: string[] = [];
  let failures = 0;
  const view = readFailures({
    ...(o.watchStream && {
      streams: bucket.streams,
      onGone: (why: string) => gone.push(why),
      // Looked at on every idle poll here.
      checkMs: FAILURES_POLL_MS,
    }),
    direct: bucket.direct,
    bucket: BUCKET,
    timers: t.timers,
    logger: createLogger({ service: 'test', level: 'silent' }),
    onChange: (_key, r, previous) =>
      changes.push(r ? `${r.image}:${r.failures}` : `-${previous?.image ?? '?'}`),
    onFailure: () => failures++,
    random: () => 0.5,
  });
  return { bucket, t, view, changes, gone, failures: () => failures };
}

describe('reading the failures bucket with direct gets (no watch)', () => {
  it('loads every record from the start in sequence order, then says it is loaded', async () => {
    const h = harness((b) => {
      b.put(record('reg/a:1'));
      b.put(record('reg/b:1'));
      b.put(record('reg/a:1', 2));
      b.del(record('reg/b:1'));
      b.put(record('reg/c:1'));
    });
    await h.view.loaded;
    expect(h.bucket.asked[0]).toMatchObject({ seq: 1 });
    // What the stream still holds: a's second round, b's deletion marker, c.
    expect(h.changes).toEqual(['reg/a:1:2', 'reg/c:1:1']);
    expect(h.view.size).toBe(2);
    expect(h.view.get('team', 'reg/a:1')?.record.failures).toBe(2);
    expect(h.view.get('team', 'reg/a:1')?.revision).toBe(3);
    expect(h.view.get('team', 'reg/b:1')).toBeUndefined();
    expect(h.t.waits()).toEqual([FAILURES_POLL_MS]);
    await h.view.stop();
  });

  it('follows changes from the last sequence it read: new rounds, deletions and purges', async () => {
    const h = harness((b) => b.put(record('reg/a:1')));
    await h.view.loaded;
    h.bucket.put(record('reg/a:1', 2));
    h.bucket.put(record('reg/b:1'));
    h.t.fire();
    await settle();
    expect(h.bucket.asked.map((a) => a.seq)).toEqual([1, 2]);
    expect(h.changes).toEqual(['reg/a:1:1', 'reg/a:1:2', 'reg/b:1:1']);
    h.bucket.del(record('reg/a:1'));
    h.bucket.del(record('reg/b:1'), 'PURGE');
    h.t.fire();
    await settle();
    expect(h.changes.slice(3)).toEqual(['-reg/a:1', '-reg/b:1']);
    expect(h.view.size).toBe(0);
    // Nothing new: asked from the next sequence, nothing changes.
    h.t.fire();
    await settle();
    expect(h.bucket.asked.at(-1)?.seq).toBe(6);
    expect(h.changes).toHaveLength(5);
    await h.view.stop();
  });

  it('is loaded on an empty bucket, and skips a record that is not one', async () => {
    const h = harness((b) => b.putRaw('team.x', '{"not":"a record"}'));
    await h.view.loaded;
    expect(h.view.size).toBe(0);
    expect(h.changes).toEqual([]);
    await h.view.stop();
  });

  it('retries a failed read with backoff where it stopped, counting each failure', async () => {
    const h = harness((b) => {
      b.put(record('reg/a:1'));
      b.fail(2);
    });
    await settle();
    expect(h.failures()).toBe(1);
    expect(h.t.waits()).toEqual([750]);
    h.t.fire();
    await settle();
    expect(h.failures()).toBe(2);
    expect(h.t.waits()).toEqual([1500]);
    h.t.fire();
    await h.view.loaded;
    expect(h.changes).toEqual(['reg/a:1:1']);
    expect(h.bucket.asked.map((a) => a.seq)).toEqual([1, 1, 1]);
    await h.view.stop();
  });

  it('stops mid-wait and reads no more', async () => {
    const h = harness();
    await h.view.loaded;
    await h.view.stop();
    expect(h.t.waits()).toEqual([]);
    const asked = h.bucket.asked.length;
    h.t.fire();
    await settle();
    expect(h.bucket.asked.length).toBe(asked);
  });

  it('a bucket deleted after it was read: tells onGone, empties the view, and reads the new one from its start', async () => {
    const h = harness(
      (b) => {
        b.put(record('reg/a:1'));
        b.put(record('reg/b:1'));
        b.put(record('reg/b:1', 2));
      },
      { watchStream: true },
    );
    await h.view.loaded;
    await settle();
    expect(h.view.size).toBe(2);
    // Deleted: reads find nothing (a gone stream reads as nothing at or after the sequence), its info
    // says not found: the view says so and holds no record of the old bucket.
    h.bucket.deleteStream();
    h.t.fire();
    await settle();
    expect(h.gone).toEqual([expect.stringContaining('stream not found')]);
    expect(h.changes.slice(2)).toEqual(['-reg/a:1', '-reg/b:1']);
    expect(h.view.size).toBe(0);
    // Made again, with a record written in it at sequence 1 (the old stream had reached 3).
    h.bucket.makeAgain('2026-01-02T00:00:00Z');
    h.bucket.put(record('reg/c:1'));
    h.t.fire();
    await settle();
    expect(h.view.get('team', 'reg/c:1')?.revision).toBe(1);
    expect(h.changes.at(-1)).toBe('reg/c:1:1');
    await h.view.stop();
  });

  it('a bucket deleted and made again between two reads: the new one is read from its start', async () => {
    const h = harness((b) => b.put(record('reg/a:1', 3)), { watchStream: true });
    await h.view.loaded;
    await settle();
    h.bucket.deleteStream();
    h.bucket.makeAgain('2026-01-02T00:00:00Z');
    h.bucket.put(record('reg/c:1'));
    h.t.fire();
    await settle();
    // Nothing at or after sequence 2 in the new stream; its creation time tells it is another.
    expect(h.gone).toEqual([]);
    expect(h.changes).toEqual(['reg/a:1:3', '-reg/a:1', 'reg/c:1:1']);
    expect(h.bucket.asked.map((a) => a.seq)).toEqual([1, 2, 1]);
    await h.view.stop();
  });
});
