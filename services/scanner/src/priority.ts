/**
 * The CPU priority of one request's trivy work. Bulk work runs niced (BULK_TRIVY_NICENESS); an
 * urgent request that waits for it (the same digest's analysis or re-match, already in flight on
 * this replica) would wait for a process the kernel starves while the node is busy: seen in a cold
 * start, a new workload's VulnerabilityReport 7.3 s behind its ConfigAuditReport. An unprivileged
 * process cannot lower a niceness again (RLIMIT_NICE is 0 by default), so promote() kills the niced
 * run and run() starts it again at normal priority; what follows runs at normal priority too.
 */
export interface Priority {
  /** Whether the next run is niced. */
  readonly background: boolean;
  /** Someone urgent waits for this work: from now on it runs at normal priority. */
  promote(): void;
  /**
   * Runs one step (a trivy process) niced or not; a niced one killed by promote() is run again at
   * normal priority. `signal` is the request's own bound: its abort ends the step as usual.
   */
  run<T>(
    signal: AbortSignal,
    step: (o: { signal: AbortSignal; background?: true }) => Promise<T>,
  ): Promise<T>;
}

export class PromotedError extends Error {
  override readonly name = 'PromotedError';
  constructor() {
    super('restarted at normal priority for an urgent request');
  }
}

export function createPriority(background: boolean, onPromoted: () => void = () => {}): Priority {
  let niced = background;
  let current: AbortController | undefined;
  return {
    get background() {
      return niced;
    },
    promote() {
      if (!niced) return;
      niced = false;
      onPromoted();
      current?.abort(new PromotedError());
    },
    async run(signal, step) {
      if (!niced) return step({ signal });
      const mine = new AbortController();
      current = mine;
      try {
        return await step({ signal: AbortSignal.any([signal, mine.signal]), background: true });
      } catch (err) {
        // Killed for promote(), not by the request's bound or the service's stop: again, un-niced.
        if (!mine.signal.aborted || signal.aborted) throw err;
      } finally {
        if (current === mine) current = undefined;
      }
      return step({ signal });
    },
  };
}
