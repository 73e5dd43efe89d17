/**
 * A bound on API writes in flight, shared by every result of a lane. Each result writes its reports
 * a few at a time (WRITE_CONCURRENCY results, each up to WRITE_CONCURRENCY writes), so a bulk backlog
 * alone could keep dozens of applies in the API server at once; it serves them side by side, and an
 * urgent write (a new workload's report), like the control plane's own, then got a small share of its
 * CPU. The bulk lane's writes share these slots (BULK_WRITES_IN_FLIGHT); the urgent lane's do not.
 */
export interface WriteSlots {
  run<T>(f: () => Promise<T>): Promise<T>;
  /** Writes running now. */
  readonly busy: number;
  /** Writes waiting for a slot. */
  readonly waiting: number;
}

export function createWriteSlots(size: number): WriteSlots {
  let busy = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else busy--;
  };
  return {
    async run(f) {
      if (busy < size) busy++;
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await f();
      } finally {
        release();
      }
    },
    get busy() {
      return busy;
    },
    get waiting() {
      return queue.length;
    },
  };
}
