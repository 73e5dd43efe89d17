/**
 * Exponential backoff: attempt 0 → up to base, doubling to max, jittered over the upper half of
 * that ceiling ("equal jitter"): spread enough that failures together do not retry in step, and
 * never so short that a retry lands in the same outage at once.
 */
export function backoff(
  attempt: number,
  baseMs = 500,
  maxMs = 30_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
