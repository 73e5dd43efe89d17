import type { Timers } from '@fleetscan/service';

/**
 * Refreshes of reports that exist (settings changed, TTL expired, new DB)
 * go out in bounded batches, so a settings change over thousands of
 * workloads does not flood the scanners and the API server at once. First
 * scans never wait here.
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
    running = true;
    try {
      const batch = [...queued.entries()].slice(0, opts.batchSize);
      for (const [key, item] of batch) {
        queued.delete(key);
        await opts.send(item).catch((err: unknown) => opts.onError?.(err));
      }
    } finally {
      running = false;
    }
  };
  const stop = opts.timers.every(opts.intervalMs, () => void tick());
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
