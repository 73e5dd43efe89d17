/**
 * Delay before retry `attempt` (0-based): exponential from baseMs, capped at maxMs, with jitter over
 * the upper half so many reflectors failing together (an apiserver restart) do not retry in step.
 */
export function exponentialBackoff(baseMs = 500, maxMs = 30_000, random: () => number = Math.random) {
  return (attempt: number): number => {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
}
