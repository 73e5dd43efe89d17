import type { Timers } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { requestProvision } from './provision-request.ts';

const enc = (v: unknown) => ({ data: new TextEncoder().encode(JSON.stringify(v)) });

/** nats.js's shapes of an unanswered request: a RequestError whose cause says why. */
function natsError(name: 'NoResponders' | 'TimeoutError'): Error {
  const cause = Object.assign(new Error(name === 'NoResponders' ? "no responders: 'x'" : 'timeout'), {
    name,
  });
  return Object.assign(new Error('request failed', { cause }), { name: 'RequestError' });
}

/** A connection at the wire: each request gets the next scripted answer (or hangs on `hang`). */
function fakeNc(script: ({ data: Uint8Array } | Error | 'hang')[]) {
  const asked: { subject: string; payload: string; timeout: number }[] = [];
  return {
    asked,
    nc: {
      request(subject: string, payload: string, opts: { timeout: number }) {
        asked.push({ subject, payload, timeout: opts.timeout });
        const next = script.shift() ?? new Error('script ended');
        if (next === 'hang') return new Promise<{ data: Uint8Array }>(() => {});
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
    },
  };
}

/** Timers that fire at once and remember each wait. */
function instantTimers() {
  const waits: number[] = [];
  const timers: Timers = {
    after: (ms, fn) => {
      waits.push(ms);
      queueMicrotask(fn);
      return () => {};
    },
    every: () => () => {},
  };
  return { timers, waits };
}

describe('asking the scanners for a cluster’s resources', () => {
  it('asks on its own cluster’s subject with an empty body and returns once answered ok', async () => {
    const f = fakeNc([enc({ ok: true })]);
    const t = instantTimers();
    const reasons: string[] = [];
    const done = await requestProvision({
      nc: f.nc,
      cluster: 'prod-1',
      timers: t.timers,
      onWaiting: (r) => reasons.push(r),
    });
    expect(done).toBe(true);
    // 5 s: an answer lost to a NATS reload costs that much, not 20 s.
    expect(f.asked).toEqual([{ subject: 'fleetscan.provision.prod-1', payload: '', timeout: 5_000 }]);
    expect(reasons).toEqual([]);
    expect(t.waits).toEqual([]);
  });

  it('retries until answered, with backoff and jitter, saying why it waits', async () => {
    const f = fakeNc([
      natsError('NoResponders'),
      natsError('TimeoutError'),
      enc({ ok: false, error: 'stream not found' }),
      enc({ something: 'else' }),
      new Error('connection closed'),
      enc({ ok: true }),
    ]);
    const t = instantTimers();
    const reasons: string[] = [];
    const done = await requestProvision({
      nc: f.nc,
      cluster: 'a',
      timers: t.timers,
      random: () => 0.5,
      timeoutMs: 5000,
      onWaiting: (r) => reasons.push(r),
    });
    expect(done).toBe(true);
    expect(f.asked).toHaveLength(6);
    expect(reasons[0]).toBe('waiting for a scanner to answer fleetscan.provision.a (none running)');
    expect(reasons[1]).toBe('no scanner answered fleetscan.provision.a within 5 s');
    expect(reasons[2]).toBe('the scanners could not provision a: stream not found');
    expect(reasons[3]).toMatch(/^asking fleetscan\.provision\.a failed: /);
    expect(reasons[4]).toBe('asking fleetscan.provision.a failed: connection closed');
    // 0.5 s doubling (jittered over the upper half: random 0.5 is three quarters of the ceiling).
    expect(t.waits).toEqual([375, 750, 1500, 3000, 6000]);
  });

  it('caps the wait at 10 s', async () => {
    const f = fakeNc([...Array.from({ length: 8 }, () => natsError('NoResponders')), enc({ ok: true })]);
    const t = instantTimers();
    await requestProvision({ nc: f.nc, cluster: 'a', timers: t.timers, random: () => 1 });
    expect(t.waits.at(-1)).toBe(10_000);
    expect(Math.max(...t.waits)).toBe(10_000);
  });

  it('returns false at once when aborted, even while a request is out', async () => {
    const f = fakeNc(['hang']);
    const abort = new AbortController();
    const t = instantTimers();
    const p = requestProvision({ nc: f.nc, cluster: 'a', timers: t.timers, signal: abort.signal });
    await new Promise((r) => setImmediate(r));
    expect(f.asked).toHaveLength(1);
    abort.abort();
    await expect(p).resolves.toBe(false);
  });

  it('asks nothing when already aborted, and stops between attempts', async () => {
    const abort = new AbortController();
    abort.abort();
    const f = fakeNc([enc({ ok: true })]);
    expect(await requestProvision({ nc: f.nc, cluster: 'a', signal: abort.signal })).toBe(false);
    expect(f.asked).toEqual([]);

    const again = new AbortController();
    const g = fakeNc([natsError('NoResponders'), enc({ ok: true })]);
    const timers: Timers = {
      // The wait is where the abort comes: the next attempt never goes out.
      after: () => {
        queueMicrotask(() => again.abort());
        return () => {};
      },
      every: () => () => {},
    };
    expect(await requestProvision({ nc: g.nc, cluster: 'a', signal: again.signal, timers })).toBe(false);
    expect(g.asked).toHaveLength(1);
  });

  it('refuses a cluster name that is no subject token', async () => {
    const f = fakeNc([enc({ ok: true })]);
    await expect(requestProvision({ nc: f.nc, cluster: 'b.>' })).rejects.toThrow(/invalid cluster name/);
    expect(f.asked).toEqual([]);
  });
});
