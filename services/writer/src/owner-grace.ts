/**
 * The writer's watches may trail the watcher's, by seconds when thousands of workloads are created
 * at once: a result whose owner is not seen yet is retried for this long after the scan before it
 * counts as an owner that is gone.
 */
export const OWNER_GRACE_MS = 60_000;
/**
 * Tries while waiting for an owner are at least this far apart (consume()'s policy spreads them
 * up to half as much again): what is awaited is a watch event, not a resource that backs off.
 * 60 s at 5-7.5 s a try stays well inside the consumer's max_deliver (20).
 */
export const OWNER_RETRY_MIN_MS = 5000;
/** How much later than when the stream stored it a result may say its scan finished (clock skew). */
export const FINISHED_AT_SKEW_MS = 5000;

export interface GraceOptions {
  graceMs: number;
  skewMs: number;
}

const DEFAULTS: GraceOptions = { graceMs: OWNER_GRACE_MS, skewMs: FINISHED_AT_SKEW_MS };

/**
 * When the scan ended, for the grace: the result's `finishedAt`, but never later than when the
 * stream stored the result plus a small skew. A scan cannot finish after its result was published;
 * a `finishedAt` in the future (a scanner's clock far ahead, a forged message) would otherwise keep
 * its result waiting for an owner for as long as it claims.
 */
export function scanEnd(finishedAt: string, storedAt: Date, skewMs = DEFAULTS.skewMs): number {
  const latest = storedAt.getTime() + skewMs;
  const claimed = Date.parse(finishedAt);
  return Number.isNaN(claimed) ? latest : Math.min(claimed, latest);
}

/**
 * A result whose owner the writer does not see: `wait` (retry, not sooner than OWNER_RETRY_MIN_MS)
 * while within the grace after the scan's end, else `gone` (the caller drops it and counts that).
 */
export function ownerNotSeen(
  result: { finishedAt: string },
  at: { storedAt: Date },
  nowMs: number,
  o: GraceOptions = DEFAULTS,
): 'wait' | 'gone' {
  return nowMs - scanEnd(result.finishedAt, at.storedAt, o.skewMs) < o.graceMs ? 'wait' : 'gone';
}
