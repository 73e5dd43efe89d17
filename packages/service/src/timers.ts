/**
 * Injected wherever code waits, next to `Clock`, so a test drives time by hand instead of sleeping.
 * Each call returns the function that cancels it. System timers never keep the process alive: a
 * service's life is its connections and servers, not a pending re-check.
 */
export interface Timers {
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): () => void;
}

export const systemTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

/**
 * Resolves `ms` from now on `timers`, or at once when `signal` aborts (never rejects): the wait
 * between two polls, which stop() must not sit through.
 */
export function pause(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    let cancel = () => {};
    const done = () => {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    cancel = timers.after(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
