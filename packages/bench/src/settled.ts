import { type Sample, sumOf } from './prom.ts';

/**
 * When the second pass is done. Restarted watcher and writer over a fleet already reported should do
 * nothing; the pass ends once nothing has moved for a while, so that late work still counts.
 */

/** The counters whose movement is work: requests sent, scans run, results and report writes. */
const WORK_COUNTERS = [
  'fleetscan_watcher_requests_total',
  'fleetscan_scanner_requests_total',
  'fleetscan_writer_results_total',
  'fleetscan_writer_reports_total',
] as const;

/** What the work counters of all services stand at, as one comparable value. */
export function workSignature(samples: readonly Sample[]): string {
  return JSON.stringify(WORK_COUNTERS.map((name) => sumOf(samples, name)));
}

/** The restarted watcher has looked at every owner once. */
export function everyOwnerEvaluated(watcherSamples: readonly Sample[], owners: number): boolean {
  return sumOf(watcherSamples, 'fleetscan_watcher_evaluations_total') >= owners;
}

export interface Settle {
  /** Records the work signature read at `now`. */
  observe(signature: string, now: number): void;
  /** No change for `quietMs`, or past the deadline. */
  done(now: number): boolean;
}

/** Watches the work signature from `start`: settled after `quietMs` without a change, or at `maxMs`. */
export function createSettle(o: { start: number; quietMs: number; maxMs: number }): Settle {
  let last = '';
  let stableSince = o.start;
  const deadline = o.start + o.maxMs;
  return {
    observe(signature, now) {
      if (signature === last) return;
      last = signature;
      stableSince = now;
    },
    done: (now) => now - stableSince >= o.quietMs || now >= deadline,
  };
}
