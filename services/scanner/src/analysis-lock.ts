import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';
import { ShuttingDownError } from './errors.ts';

/** The KV operations the lock uses (a bucket of fleetscan-scan-locks). */
export type LockBucket = Pick<KV, 'create' | 'get' | 'update' | 'put' | 'delete'>;

export interface AnalysisLockDeps {
  kv: LockBucket;
  clock: Clock;
  /** Written as the lock's value: which replica holds it. */
  owner: string;
  /** Aborted on shutdown: stops waiting. */
  signal: AbortSignal;
  /** A lock not refreshed for this long belongs to a replica that died. Default 20 s. */
  staleMs?: number;
  /** How often a waiter looks again. Default 500 ms. */
  pollMs?: number;
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A lock this replica holds; it is refreshed until released. */
export interface HeldLock {
  release(): Promise<void>;
}

export type Acquired = { state: 'acquired'; lock: HeldLock } | { state: 'done' };

/**
 * One analysis per digest across the fleet: a KV key per (digest, analysis settings). The first
 * replica creates it and refreshes it while it works; the others wait, looking every pollMs,
 * until `done()` says the holder's analysis landed, or until the lock has not been refreshed for
 * staleMs (its holder died) and they take it over with compare-and-set (one of them wins).
 *
 * The age of a lock is the KV entry's time (the server's clock at the last refresh) against this
 * replica's clock: staleMs is far above any sane clock skew.
 */
export function createAnalysisLocks(d: AnalysisLockDeps) {
  const staleMs = d.staleMs ?? 20_000;
  const pollMs = d.pollMs ?? 500;
  const wait = d.wait ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }));

  function hold(key: string): HeldLock {
    const refresh = setInterval(() => void d.kv.put(key, d.owner).catch(() => {}), staleMs / 4);
    refresh.unref();
    return {
      async release() {
        clearInterval(refresh);
        await d.kv.delete(key).catch(() => {});
      },
    };
  }

  return {
    /**
     * Takes the lock on `key`, or waits while a live holder has it until `done()` says its work
     * landed, or `signal` (the request's bound; the service's stop by default) ends the wait.
     */
    async acquire(key: string, done: () => Promise<boolean>, signal = d.signal): Promise<Acquired> {
      for (;;) {
        if (signal.aborted) throw new ShuttingDownError('stopped while waiting for an analysis lock');
        try {
          await d.kv.create(key, d.owner);
          return { state: 'acquired', lock: hold(key) };
        } catch {
          // held (or just released): look at it
        }
        const e = await d.kv.get(key);
        if (e && e.operation === 'PUT' && d.clock.now().getTime() - e.created.getTime() > staleMs) {
          try {
            await d.kv.update(key, d.owner, e.revision);
            return { state: 'acquired', lock: hold(key) };
          } catch {
            continue; // another waiter took it over first
          }
        }
        if (await done()) return { state: 'done' };
        await wait(pollMs, signal).catch(() => {});
      }
    },
  };
}

export type AnalysisLocks = ReturnType<typeof createAnalysisLocks>;
