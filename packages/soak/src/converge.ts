import { setTimeout as sleep } from 'node:timers/promises';
import { type FleetCheck, isConverged } from './fleet-check.ts';

export interface Convergence {
  converged: boolean;
  /** From the start of the wait to the first of the clean checks that ended it (or to the timeout). */
  ms: number;
  /** The last check made. */
  check: FleetCheck;
  checks: number;
}

/**
 * Checks the fleet every `intervalMs` until it is clean twice in a row (and `idle`, when given, says
 * nothing is left to do), or `timeoutMs` passes. Twice, because one clean look can fall between a
 * report's deletion and the write of a duplicate still on its way.
 */
export async function waitForFleet(opts: {
  check: () => Promise<FleetCheck>;
  idle?: () => Promise<boolean>;
  timeoutMs: number;
  intervalMs?: number;
  now?: () => number;
}): Promise<Convergence> {
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 1000;
  const start = now();
  let cleanSince: number | undefined;
  let checks = 0;
  let last: FleetCheck | undefined;
  for (;;) {
    let clean = false;
    try {
      last = await opts.check();
      checks++;
      clean = isConverged(last) && (opts.idle ? await opts.idle() : true);
    } catch {
      // The API server or NATS may be coming back from a fault: look again.
      clean = false;
    }
    const at = now();
    if (clean) {
      if (cleanSince !== undefined && last)
        return { converged: true, ms: cleanSince - start, check: last, checks };
      cleanSince = at;
    } else {
      cleanSince = undefined;
    }
    if (at - start >= opts.timeoutMs) {
      if (!last) throw new Error(`no fleet check succeeded within ${opts.timeoutMs} ms`);
      return { converged: false, ms: at - start, check: last, checks };
    }
    await sleep(interval);
  }
}
