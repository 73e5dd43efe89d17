import type { Clock, Timers } from '@fleetscan/service';

/** A clock and timers that move only when a test advances them: no real sleeps in unit tests. */
export interface FakeTime extends Clock, Timers {
  /** Moves time forward by `ms`, firing due timers in order and letting the work they start settle. */
  advance(ms: number): Promise<void>;
  /** Lets started async work (promise chains, fake publishes) finish without moving time. */
  settle(): Promise<void>;
  readonly nowMs: number;
  /** Timers not yet fired or cancelled. */
  readonly timers: number;
}

interface Timer {
  id: number;
  due: number;
  every?: number;
  fn: () => void;
}

export function createFakeTime(startMs = 0): FakeTime {
  let now = startMs;
  let nextId = 0;
  const timers = new Map<number, Timer>();
  const add = (ms: number, fn: () => void, every?: number) => {
    const t: Timer = { id: nextId++, due: now + Math.max(0, ms), fn, ...(every ? { every } : {}) };
    timers.set(t.id, t);
    return () => void timers.delete(t.id);
  };
  // A macrotask turn runs every queued microtask, however long the promise chains are.
  const settle = () => new Promise<void>((r) => setImmediate(r));
  const nextDue = (until: number) => {
    let first: Timer | undefined;
    for (const t of timers.values()) {
      if (t.due <= until && (!first || t.due < first.due || (t.due === first.due && t.id < first.id)))
        first = t;
    }
    return first;
  };
  return {
    now: () => new Date(now),
    after: (ms, fn) => add(ms, fn),
    every: (ms, fn) => add(ms, fn, Math.max(1, ms)),
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (let t = nextDue(until); t; t = nextDue(until)) {
        now = Math.max(now, t.due);
        if (t.every) t.due += t.every;
        else timers.delete(t.id);
        t.fn();
        await settle();
      }
      now = until;
      await settle();
    },
    settle,
    get nowMs() {
      return now;
    },
    get timers() {
      return timers.size;
    },
  };
}
