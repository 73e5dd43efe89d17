import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAnalysisLocks, type LockBucket } from './analysis-lock.ts';

// The lock's decisions against an in-memory bucket that behaves like a KV bucket at its API
// (create fails on an existing key, update is compare-and-set on the revision, an entry's
// `created` is the time of its last write); the real bucket runs in scanner-lifecycle and
// scanner-failover integration tests.

const KEY = 'sha256-ab.cafe';

function setup(opts: { staleMs?: number } = {}) {
  let now = Date.parse('2026-11-10T00:00:00Z');
  const clock = { now: () => new Date(now) };
  const entries = new Map<string, { value: string; revision: number; created: Date }>();
  let rev = 0;
  const writes: string[] = [];
  const write = (k: string, v: string) => {
    writes.push(`${k}=${v}`);
    entries.set(k, { value: v, revision: ++rev, created: clock.now() });
    return rev;
  };
  const kv = {
    async create(k: string, v: string) {
      if (entries.has(k)) throw new Error('wrong last sequence');
      return write(k, v);
    },
    async get(k: string) {
      const e = entries.get(k);
      return e ? { operation: 'PUT', revision: e.revision, created: e.created, string: () => e.value } : null;
    },
    async put(k: string, v: string) {
      return write(k, v);
    },
    async update(k: string, v: string, revision: number) {
      if (entries.get(k)?.revision !== revision) throw new Error('wrong last sequence');
      return write(k, v);
    },
    async delete(k: string) {
      entries.delete(k);
    },
  } as unknown as LockBucket;
  const abort = new AbortController();
  const waits: number[] = [];
  const locks = (owner: string, signal = abort.signal) =>
    createAnalysisLocks({
      kv,
      clock,
      owner,
      signal,
      ...(opts.staleMs !== undefined && { staleMs: opts.staleMs }),
      // Waiting moves the fake clock on: no real time passes in these tests.
      wait: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
  const holder = (k = KEY) => entries.get(k)?.value;
  return { locks, kv, abort, waits, writes, holder, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('analysis lock', () => {
  it('a free lock is taken at once, and is gone once released', async () => {
    const { locks, holder, waits } = setup();
    const got = await locks('r1').acquire(KEY, async () => false);
    expect(got.state).toBe('acquired');
    expect(holder()).toBe('r1');
    expect(waits).toEqual([]);
    if (got.state === 'acquired') await got.lock.release();
    expect(holder()).toBeUndefined();
  });

  it('while a live holder works, a waiter waits; when its work lands, the waiter is done without the lock', async () => {
    const { locks, holder, waits } = setup();
    await locks('r1').acquire(KEY, async () => false);
    let looks = 0;
    const got = await locks('r2').acquire(KEY, async () => ++looks >= 3);
    expect(got).toEqual({ state: 'done' });
    expect(waits).toEqual([500, 500]);
    expect(holder()).toBe('r1');
  });

  it('a holder that stopped refreshing for staleMs is taken over', async () => {
    const { locks, holder, waits } = setup({ staleMs: 20_000 });
    await locks('dead').acquire(KEY, async () => false);
    const got = await locks('r2').acquire(KEY, async () => false);
    expect(got.state).toBe('acquired');
    expect(holder()).toBe('r2');
    // It waited until the lock was older than staleMs, not longer: 41 looks 500 ms apart.
    expect(waits.reduce((a, b) => a + b, 0)).toBe(20_500);
  });

  it('a holder that refreshes keeps its lock however long it works', async () => {
    vi.useFakeTimers();
    const { locks, holder, advance } = setup({ staleMs: 20_000 });
    const got = await locks('r1').acquire(KEY, async () => false);
    // The refresh timer fires every staleMs / 4; move the lock's clock with it.
    for (let i = 0; i < 12; i++) {
      advance(5000);
      await vi.advanceTimersByTimeAsync(5000);
    }
    let looks = 0;
    const waiter = await locks('r2').acquire(KEY, async () => ++looks > 3);
    expect(waiter).toEqual({ state: 'done' });
    expect(holder()).toBe('r1');
    if (got.state === 'acquired') await got.lock.release();
  });

  it('of two waiters taking over a stale lock, one wins and the other keeps waiting', async () => {
    const { locks, kv, holder, advance } = setup({ staleMs: 20_000 });
    await locks('dead').acquire(KEY, async () => false);
    advance(30_000);
    // r3 takes it over between r2's look and r2's compare-and-set.
    const stale = await kv.get(KEY);
    await kv.update(KEY, 'r3', stale?.revision ?? 0);
    let looks = 0;
    const got = await locks('r2').acquire(KEY, async () => ++looks >= 2);
    expect(got).toEqual({ state: 'done' });
    expect(holder()).toBe('r3');
  });

  it('stops waiting when the scanner stops', async () => {
    const { locks, abort } = setup();
    await locks('r1').acquire(KEY, async () => false);
    let looks = 0;
    const waiting = locks('r2').acquire(KEY, async () => {
      if (++looks === 2) abort.abort();
      return false;
    });
    await expect(waiting).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
