import type { Timers } from '@fleetscan/service';

/**
 * Refreshes of reports that exist (settings changed, TTL expired, new DB)
 * go out at a bounded rate, so a settings change over thousands of
 * workloads does not flood the scanners and the API server at once. First
 * scans never wait here. The rate is `batchSize` per `intervalMs`, one at a
 * time and evenly spaced: sent as one burst, a batch's writes kept the
 * writer and the API server busy for seconds, and a new workload created in
 * that time waited several times as long as one created between bursts.
 */
export interface RefreshQueue<T> {
  /** Queues `item` under `key`; a key already queued is not queued twice. */
  add(key: string, item: T): void;
  readonly size: number;
  stop(): void;
}

export function createRefreshQueue<T>(opts: {
  batchSize: number;
  intervalMs: number;
  timers: Timers;
  send: (item: T) => Promise<void>;
  onError?: (err: unknown) => void;
}): RefreshQueue<T> {
  const queued = new Map<string, T>();
  let running = false;
  const tick = async () => {
    if (running) return;
    const next = queued.entries().next();
    if (next.done) return;
    const [key, item] = next.value;
    running = true;
    queued.delete(key);
    try {
      await opts.send(item).catch((err: unknown) => opts.onError?.(err));
    } finally {
      running = false;
    }
  };
  // Rounded up: never more than batchSize in an interval.
  const spacingMs = Math.max(1, Math.ceil(opts.intervalMs / Math.max(1, opts.batchSize)));
  const stop = opts.timers.every(spacingMs, () => void tick());
  return {
    add(key, item) {
      if (!queued.has(key)) queued.set(key, item);
    },
    get size() {
      return queued.size;
    },
    stop,
  };
}
