import { bounded, LANES, type Lane, STREAM_SCAN, subjects } from '@fleetscan/bus';
import type { Logger, Timers } from '@fleetscan/service';
import type { StreamAPI } from '@nats-io/jetstream';

/** How often the watcher reads how many of its requests are still queued. */
export const QUEUE_VIEW_POLL_MS = 10_000;
/** A reading older than this many polls says nothing (the stream could not be read since). */
const STALE_POLLS = 3;

/**
 * Whether this cluster's requests of each lane are still queued in the scan stream, read every
 * QUEUE_VIEW_POLL_MS with a stream info filtered on the lane's subjects for the cluster (the
 * watcher's identity may read the stream's info; it creates nothing). The scan stream is a work
 * queue: a request leaves it once a scanner answered it, so "still queued" means an older ask may
 * be waiting behind them rather than lost (request-memory.ts). Unknown (never read, or not for
 * STALE_POLLS polls) reads as not queued: asks then go again at their usual time.
 */
export function createQueueView(d: {
  streams: Pick<StreamAPI, 'info'>;
  cluster: string;
  timers: Timers;
  logger: Pick<Logger, 'warn'>;
  now?: () => number;
  intervalMs?: number;
}): { queued(lane: Lane): boolean; refresh(): Promise<void>; stop(): void } {
  const now = d.now ?? (() => performance.now());
  const interval = d.intervalMs ?? QUEUE_VIEW_POLL_MS;
  const readings = new Map<Lane, { queued: boolean; at: number }>();
  let running: Promise<void> | undefined;
  let failing = false;
  /** One reading at a time: a call during one waits for it. */
  const refresh = (): Promise<void> => {
    running ??= read().finally(() => {
      running = undefined;
    });
    return running;
  };
  const read = async () => {
    try {
      for (const lane of LANES) {
        const info = await d.streams.info(STREAM_SCAN, {
          subjects_filter: subjects.scansFrom(d.cluster, lane),
        });
        const queued = Object.values(info.state.subjects ?? {}).some((n) => n > 0);
        readings.set(lane, { queued, at: now() });
      }
      failing = false;
    } catch (err) {
      // One line per run of failures, not one per poll.
      if (!failing)
        d.logger.warn({ err: bounded((err as Error).message) }, 'cannot read the queued requests');
      failing = true;
    }
  };
  const stop = d.timers.every(interval, () => void refresh());
  void refresh();
  return {
    queued(lane) {
      const r = readings.get(lane);
      return (r?.queued ?? false) && now() - (r?.at ?? 0) < STALE_POLLS * interval;
    },
    refresh,
    stop,
  };
}
