import type { BulkLimit } from './bulk-limit.ts';

/**
 * A bound on API writes in flight, shared by every result of a lane. Each result writes its reports
 * a few at a time (WRITE_CONCURRENCY results, each up to WRITE_CONCURRENCY writes), so a bulk backlog
 * alone could keep dozens of applies in the API server at once; it serves them side by side, and an
 * urgent write (a new workload's report), like the control plane's own, then got a small share of its
 * CPU. The bulk lane's writes share these slots (BULK_WRITES_IN_FLIGHT); the urgent lane's do not,
 * and while one of those runs, bulk writes start only up to `whileUrgent` in flight: a new
 * workload's reports took 0.2–0.6 s to write beside a cold start's 8 bulk writes, against 0.05 s on
 * an idle fleet. With a BulkLimit, the bulk lane keeps fewer than `size` in flight while the API
 * server's answers slow (bulk-limit.ts).
 */
export interface WriteSlots {
  /** A bulk write: waits for a slot. */
  run<T>(f: () => Promise<T>): Promise<T>;
  /** An urgent write: goes at once, and holds bulk writes to `whileUrgent` in flight while it runs. */
  urgent<T>(f: () => Promise<T>): Promise<T>;
  /** Bulk writes running now. */
  readonly busy: number;
  /** Bulk writes waiting for a slot. */
  readonly waiting: number;
  /** Bulk writes that may be in flight now, when no urgent one runs. */
  readonly limit: number;
}

export interface AdaptiveSlots {
  limit: BulkLimit;
  /** ms, to time each bulk write. */
  now: () => number;
}

export function createWriteSlots(size: number, whileUrgent = 1, adaptive?: AdaptiveSlots): WriteSlots {
  let busy = 0;
  let urgentRunning = 0;
  const queue: (() => void)[] = [];
  const bulkLimit = () => Math.max(1, Math.min(size, adaptive?.limit.current ?? size));
  // At least one: a steady stream of urgent writes slows the backlog, never stops it.
  const limit = () => (urgentRunning > 0 ? Math.max(1, Math.min(bulkLimit(), whileUrgent)) : bulkLimit());
  const pump = () => {
    while (queue.length > 0 && busy < limit()) {
      busy++;
      queue.shift()?.();
    }
  };
  return {
    async run(f) {
      if (queue.length === 0 && busy < limit()) busy++;
      else await new Promise<void>((resolve) => queue.push(resolve));
      const startedAt = adaptive?.now();
      try {
        const out = await f();
        // Written ones only: a refusal comes back fast (its namespace gone, say) and would make a
        // baseline no write can keep to.
        if (adaptive && startedAt !== undefined)
          adaptive.limit.record(adaptive.now() - startedAt, queue.length > 0);
        return out;
      } finally {
        busy--;
        pump();
      }
    },
    async urgent(f) {
      urgentRunning++;
      try {
        return await f();
      } finally {
        urgentRunning--;
        pump();
      }
    },
    get busy() {
      return busy;
    },
    get waiting() {
      return queue.length;
    },
    get limit() {
      return bulkLimit();
    },
  };
}
