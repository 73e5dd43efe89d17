/**
 * Runs jobs one at a time, urgent ones first: a job waits for the one running, then for the urgent
 * jobs queued before it, and (if it is not urgent itself) for every urgent job queued while it waits.
 * The audit worker answers one request at a time; this is how an urgent audit overtakes the
 * chunks of a bulk batch instead of queueing behind all of them.
 */
export function createPrioritySerial() {
  interface Job {
    run(): Promise<unknown>;
    resolve(v: unknown): void;
    reject(e: unknown): void;
  }
  const urgent: Job[] = [];
  const bulk: Job[] = [];
  let busy = false;
  const pump = () => {
    if (busy) return;
    const job = urgent.shift() ?? bulk.shift();
    if (!job) return;
    busy = true;
    // A job that throws synchronously is a rejection like any other.
    void Promise.resolve()
      .then(() => job.run())
      .then(job.resolve, job.reject)
      .finally(() => {
        busy = false;
        pump();
      });
  };
  return {
    run<T>(isUrgent: boolean, f: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        (isUrgent ? urgent : bulk).push({ run: f, resolve: resolve as (v: unknown) => void, reject });
        pump();
      });
    },
    /** Jobs waiting (not the one running). */
    get waiting() {
      return urgent.length + bulk.length;
    },
  };
}
