import { createLogger } from '@fleetscan/service';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type DbVersionDeps, startDbVersionPublisher } from './db-version.ts';
import { createScannerMetrics } from './metrics.ts';

// The DB-version watch's supervision with an in-memory state bucket (compare-and-set like KV's)
// and waits the test releases one at a time; the real bucket is in scanner-lifecycle.test.ts.

const DB1 = '2026-11-01T00:00:00Z';
const DB2 = '2026-11-02T00:00:00Z';

function setup(read: () => Promise<string>) {
  let value: { v: string; revision: number } | undefined;
  let rev = 0;
  let kvDown = false;
  const kv: DbVersionDeps['kv'] = {
    async get() {
      if (kvDown) throw new Error('TIMEOUT');
      return value
        ? ({ operation: 'PUT', revision: value.revision, string: () => value?.v ?? '' } as never)
        : null;
    },
    async create(_k: string, v: Uint8Array | string) {
      if (value) throw new Error('wrong last sequence');
      value = { v: String(v), revision: ++rev };
      return rev;
    },
    async update(_k: string, v: Uint8Array | string, revision?: number) {
      if (value?.revision !== revision) throw new Error('wrong last sequence');
      value = { v: String(v), revision: ++rev };
      return rev;
    },
  };
  const states: string[] = [];
  const waits: number[] = [];
  let release: (() => void) | undefined;
  const deps: DbVersionDeps = {
    kv,
    dbUpdatedAt: read,
    intervalMs: 30_000,
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createScannerMetrics(new Registry()),
    onState: (ok, reason) => states.push(ok ? 'ready' : `not ready: ${reason}`),
    random: () => 1,
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        waits.push(ms);
        release = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  /** Ends the current wait and lets the next check run up to its own wait. */
  const next = async () => {
    const before = waits.length;
    release?.();
    for (let i = 0; i < 100 && waits.length === before; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    deps,
    states,
    waits,
    next,
    fleet: () => value?.v,
    setFleet: (v: string) => {
      value = { v, revision: ++rev };
    },
    kvDown: (down: boolean) => {
      kvDown = down;
    },
  };
}

describe('DB version watch', () => {
  it('announces the DB at start, re-reads it every interval and announces a newer one', async () => {
    let db = DB1;
    const t = setup(async () => db);
    const w = await startDbVersionPublisher(t.deps);
    expect(t.fleet()).toBe(DB1);
    expect(t.states).toEqual(['ready']);
    db = DB2;
    await t.next();
    expect(t.fleet()).toBe(DB2);
    expect(t.waits).toEqual([30_000, 30_000]);
    await w.stop();
  });

  it('never moves the fleet back to an older DB', async () => {
    const t = setup(async () => DB1);
    t.setFleet(DB2);
    const w = await startDbVersionPublisher(t.deps);
    expect(t.fleet()).toBe(DB2);
    expect(t.states).toEqual(['ready']);
    await w.stop();
  });

  it('an unreadable DB: not ready with the reason, retried with backoff up to the interval, ready again after', async () => {
    let broken = true;
    const t = setup(async () => {
      if (broken) throw new Error('ENOENT: db/metadata.json');
      return DB1;
    });
    const w = await startDbVersionPublisher(t.deps);
    expect(t.states).toEqual(['not ready: cannot read the trivy DB version: ENOENT: db/metadata.json']);
    for (let i = 0; i < 5; i++) await t.next();
    expect(t.waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    expect(t.fleet()).toBeUndefined();
    broken = false;
    await t.next();
    expect(t.states.at(-1)).toBe('ready');
    expect(t.fleet()).toBe(DB1);
    expect(t.waits.at(-1)).toBe(30_000);
    await w.stop();
  });

  it('an unreachable state bucket: not ready, retried until the DB is announced', async () => {
    const t = setup(async () => DB1);
    t.kvDown(true);
    const w = await startDbVersionPublisher(t.deps);
    expect(t.states).toEqual(['not ready: cannot publish the trivy DB version: TIMEOUT']);
    t.kvDown(false);
    await t.next();
    expect(t.states.at(-1)).toBe('ready');
    expect(t.fleet()).toBe(DB1);
    expect(t.waits).toEqual([1000, 30_000]);
    await w.stop();
  });

  it('stops while waiting', async () => {
    const t = setup(async () => DB1);
    const w = await startDbVersionPublisher(t.deps);
    await w.stop();
    expect(t.waits).toHaveLength(1);
  });
});
