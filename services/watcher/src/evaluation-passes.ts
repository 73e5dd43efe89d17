import type { Timers } from '@fleetscan/service';

/**
 * Owners marked dirty are evaluated in passes: one pass at a time, starting a moment after the
 * first mark so a burst of events (a re-list, a rollout) collapses into one pass; owners marked
 * during a pass are taken by the same pass. An evaluation that failed is marked again later.
 */
export interface EvaluationPasses {
  mark(key: string): void;
  /** Marks `key` again after the retry delay (once, however often it fails meanwhile). */
  retryLater(key: string): void;
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
  evaluate: (key: string) => Promise<void>;
}): EvaluationPasses {
  const dirty = new Set<string>();
  const retries = new Map<string, () => void>();
  let started = false;
  let stopped = false;
  /** A pass is due (its timer's cancel) or under way (its promise). */
  let due: (() => void) | undefined;
  let running: Promise<void> | undefined;

  const schedule = () => {
    if (!started || stopped || due || running || dirty.size === 0) return;
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
  const pass = async () => {
    while (dirty.size > 0 && !stopped) {
      const keys = [...dirty];
      dirty.clear();
      for (const key of keys) {
        if (stopped) return;
        await opts.evaluate(key);
      }
    }
  };

  const mark = (key: string) => {
    dirty.add(key);
    schedule();
  };

  return {
    mark,
    retryLater(key) {
      if (stopped || retries.has(key)) return;
      retries.set(
        key,
        opts.timers.after(opts.retryAfterMs, () => {
          retries.delete(key);
          mark(key);
        }),
      );
    },
    start() {
      started = true;
      schedule();
    },
    get dirty() {
      return dirty.size;
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
