import type { Clock, Timers } from '@fleetscan/service';

/** A clock and timers that move only when a test advances them: no real sleeps in unit tests. */
export interface FakeTime extends Clock, Timers {
  /** Moves time forward by `ms`, firing due timers in order and letting the work they start settle. */
  advance(ms: number): Promise<void>;
  /** Lets started async work finish without moving time. */
  settle(): Promise<void>;
  /** Timers not yet fired or cancelled. */
  readonly timers: number;
}

export function createFakeTime(startMs = Date.parse('2026-11-26T10:00:00Z')): FakeTime {
  let now = startMs;
  let nextId = 0;
  const timers = new Map<number, { due: number; every?: number; fn: () => void }>();
  const add = (ms: number, fn: () => void, every?: number) => {
    const id = nextId++;
    timers.set(id, { due: now + Math.max(0, ms), fn, ...(every !== undefined && { every }) });
    return () => void timers.delete(id);
  };
  // A macrotask turn runs every queued microtask, however long the promise chains are.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  const nextDue = (until: number) => {
    let first: [number, { due: number }] | undefined;
    for (const t of timers) if (t[1].due <= until && (!first || t[1].due < first[1].due)) first = t;
    return first?.[0];
  };
  return {
    now: () => new Date(now),
    after: (ms, fn) => add(ms, fn),
    every: (ms, fn) => add(ms, fn, Math.max(1, ms)),
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (let id = nextDue(until); id !== undefined; id = nextDue(until)) {
        const t = timers.get(id);
        if (!t) continue;
        now = Math.max(now, t.due);
        if (t.every !== undefined) t.due += t.every;
        else timers.delete(id);
        t.fn();
        await settle();
      }
      now = until;
      await settle();
    },
    settle,
    get timers() {
      return timers.size;
    },
  };
}
