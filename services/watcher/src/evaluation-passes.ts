import type { Lane } from '@fleetscan/bus';
import type { Timers } from '@fleetscan/service';

/**
 * Owners marked dirty are evaluated in passes: one pass at a time, starting a moment after the
 * first mark so a burst of events (a re-list, a rollout) collapses into one pass; owners marked
 * during a pass are taken by the same pass. An evaluation that failed is marked again later.
 *
 * A mark has a lane (`@fleetscan/bus`): an owner marked `urgent` (it changed while we watched) is
 * evaluated before every `bulk` one still waiting (the first list's ten thousand owners, a resync),
 * and asks in the urgent lane; marked both ways, it is urgent.
 */
export interface EvaluationPasses {
  mark(key: string, lane?: Lane): void;
  /** Marks `key` again after the retry delay (once, however often it fails meanwhile). */
  retryLater(key: string, lane?: Lane): void;
  /** Passes run from now on (before, marks only accumulate: the first list is not complete). */
  start(): void;
  readonly dirty: number;
  readonly retries: number;
  /** No pass starts any more, a pass under way ends after its current owner; resolves when it has. */
  stop(): Promise<void>;
}

export function createEvaluationPasses(opts: {
  timers: Timers;
  /** How long a pass waits for more marks before it starts. */
  delayMs: number;
  retryAfterMs: number;
  evaluate: (key: string, lane: Lane) => Promise<void>;
}): EvaluationPasses {
  // In marking order; a key is in one of them at most.
  const urgent = new Set<string>();
  const bulk = new Set<string>();
  const retries = new Map<string, () => void>();
  let started = false;
  let stopped = false;
  /** A pass is due (its timer's cancel) or under way (its promise). */
  let due: (() => void) | undefined;
  let running: Promise<void> | undefined;

  const schedule = () => {
    if (!started || stopped || due || running || urgent.size + bulk.size === 0) return;
    due = opts.timers.after(opts.delayMs, () => {
      due = undefined;
      // Started a microtask later, so `running` is set before the first evaluation can mark anything.
      running = Promise.resolve()
        .then(pass)
        .finally(() => {
          running = undefined;
          // Marked while the pass was finishing.
          schedule();
        });
    });
  };
  /** The next owner: the first urgent one, else the first bulk one. */
  const next = (): [string, Lane] | undefined => {
    for (const [set, lane] of [
      [urgent, 'urgent'],
      [bulk, 'bulk'],
    ] as const) {
      const first = set.values().next();
      if (first.done) continue;
      set.delete(first.value);
      return [first.value, lane];
    }
    return undefined;
  };
  const pass = async () => {
    for (let n = next(); n && !stopped; n = next()) await opts.evaluate(...n);
  };

  const mark = (key: string, lane: Lane = 'bulk') => {
    if (lane === 'urgent') {
      bulk.delete(key);
      urgent.add(key);
    } else if (!urgent.has(key)) bulk.add(key);
    schedule();
  };

  return {
    mark,
    retryLater(key, lane) {
      if (stopped || retries.has(key)) return;
      retries.set(
        key,
        opts.timers.after(opts.retryAfterMs, () => {
          retries.delete(key);
          mark(key, lane);
        }),
      );
    },
    start() {
      started = true;
      schedule();
    },
    get dirty() {
      return urgent.size + bulk.size;
    },
    get retries() {
      return retries.size;
    },
    async stop() {
      stopped = true;
      due?.();
      due = undefined;
      for (const cancel of retries.values()) cancel();
      retries.clear();
      await running;
    },
  };
}
