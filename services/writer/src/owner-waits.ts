import type { Owner } from '@fleetscan/inventory';
import type { Timers } from '@fleetscan/service';

/**
 * How long an urgent result whose owner the writer's watches do not show yet is held in its
 * handler, waiting for that owner to appear, before it is retried like any other (OWNER_RETRY_MIN_MS).
 * An urgent result is a new workload's answer: the scanner answers a cached image in well under a
 * second, and the writer's watch of the new ReplicaSet may trail by as much under load. Without
 * this, that workload's report waited for the 5-s retry (seen in a cold start: +5.9 s).
 */
export const URGENT_OWNER_WAIT_MS = 5000;

export interface OwnerWaits {
  /**
   * Resolves true as soon as an owner for which `matches` holds appears, false after `ms` or when
   * `signal` aborts (the handler's stop).
   */
  wait(matches: (o: Owner) => boolean, ms: number, signal?: AbortSignal): Promise<boolean>;
  /** An owner the writer's watches just saw. */
  appeared(owner: Owner): void;
  /** Waits in progress. */
  size(): number;
}

/** Waiters are urgent handlers only, so there are at most as many as the urgent lane has slots. */
export function createOwnerWaits(timers: Pick<Timers, 'after'>): OwnerWaits {
  const waiters = new Set<{ matches(o: Owner): boolean; end(seen: boolean): void }>();
  return {
    wait(matches, ms, signal) {
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        let cancel = () => {};
        const onAbort = () => w.end(false);
        const w = {
          matches,
          end(seen: boolean) {
            if (!waiters.delete(w)) return;
            cancel();
            signal?.removeEventListener('abort', onAbort);
            resolve(seen);
          },
        };
        waiters.add(w);
        cancel = timers.after(ms, () => w.end(false));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    appeared(owner) {
      for (const w of [...waiters]) if (w.matches(owner)) w.end(true);
    },
    size: () => waiters.size,
  };
}
