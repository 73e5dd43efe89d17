/**
 * How many bulk writes the API server gets at once, learned from how fast it answers them: more
 * while its answers stay near the fastest seen lately, fewer once they slow (additive increase,
 * multiplicative decrease on latency, as TCP Vegas and Netflix's concurrency-limits do).
 *
 * Why not a fixed number: an API server with CPU to spare answers 8 writes at once as fast as one,
 * and 8 keep the backlog going; one short of CPU (a small control plane, or one sharing its node)
 * queues them, and a new workload's write and the control plane's own then wait behind them. Seen
 * on a 2-core node in a 1 000-owner cold start: with 8 in flight a new workload's reports took
 * 0.1–0.4 s to write, with 1 in flight 0.01–0.06 s, and every report was written as fast.
 */
export interface BulkLimit {
  /** Bulk writes that may be in flight now: 1 to max. */
  readonly current: number;
  /** One bulk write was written after `ms`; `queued`: others waited for a slot when it ended. */
  record(ms: number, queued: boolean): void;
  /** What the limit is decided on, for a log line: the smoothed latency and its baseline (ms). */
  readonly latency: { smoothedMs: number; baselineMs: number } | undefined;
}

export interface BulkLimitOptions {
  /** The most in flight (BULK_WRITES_IN_FLIGHT). */
  max: number;
  /** Slower than this × the baseline means the API server queues them: fewer. Default 2. */
  tolerance?: number;
  /**
   * The baseline is the lowest smoothed latency of the last one or two windows of this length, so
   * it follows an API server that became slower (or faster) for everyone. Default 60 s.
   */
  baselineWindowMs?: number;
  /** ms; the writer's clock (a step back of it makes one write's time negative: that one is ignored). */
  now: () => number;
}

/** Weight of the newest write in the smoothed latency: one fast or slow write alone decides nothing. */
const SMOOTHING = 0.1;
const DECREASE = 0.75;

export function createBulkLimit(o: BulkLimitOptions): BulkLimit {
  const max = Math.max(1, o.max);
  const tolerance = o.tolerance ?? 2;
  const windowMs = o.baselineWindowMs ?? 60_000;
  // Starts at one and grows by about one per round of writes: a backlog at start does not open
  // with `max` writes on a server that cannot take them.
  let limit = 1;
  let smoothed: number | undefined;
  let lowest = Number.POSITIVE_INFINITY;
  let lowestBefore = Number.POSITIVE_INFINITY;
  let windowStart = o.now();
  let lastDecrease = Number.NEGATIVE_INFINITY;
  return {
    get current() {
      return Math.floor(limit);
    },
    get latency() {
      if (smoothed === undefined) return undefined;
      return { smoothedMs: smoothed, baselineMs: Math.min(lowest, lowestBefore) };
    },
    record(ms, queued) {
      if (!(ms >= 0)) return;
      const now = o.now();
      if (now - windowStart >= windowMs) {
        lowestBefore = lowest;
        lowest = Number.POSITIVE_INFINITY;
        windowStart = now;
      }
      smoothed = smoothed === undefined ? ms : smoothed + SMOOTHING * (ms - smoothed);
      lowest = Math.min(lowest, smoothed);
      // At least 1 ms: the clock's resolution; a baseline of 0 would call every write slow.
      const baseline = Math.max(1, Math.min(lowest, lowestBefore));
      if (smoothed > tolerance * baseline) {
        // Once per latency at most: the writes in flight when it was decided come back slow too.
        if (now - lastDecrease >= smoothed) {
          limit = Math.max(1, limit * DECREASE);
          lastDecrease = now;
        }
      } else if (queued) {
        limit = Math.min(max, limit + 1 / Math.floor(limit));
      }
    },
  };
}
