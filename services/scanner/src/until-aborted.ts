/**
 * Resolves as `p` does, or rejects with the signal's reason once it is aborted: a request stops
 * waiting for work it shares with others (a batch, another request's analysis) at its own bound,
 * while that work goes on for them.
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
