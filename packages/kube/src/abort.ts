/**
 * A child AbortController that follows `parent` (and an optional timeout) until disposed.
 * Hand-linked rather than AbortSignal.any: the parent lives as long as the reflector and gets one
 * child per request, so its listener must be removed when the request is over.
 */
export function childAbort(
  parent: AbortSignal,
  timeoutMs?: number,
): { signal: AbortSignal; abort(reason?: unknown): void; dispose(): void } {
  const ac = new AbortController();
  const onParent = () => ac.abort(parent.reason);
  if (parent.aborted) onParent();
  else parent.addEventListener('abort', onParent, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => ac.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')),
          timeoutMs,
        );
  return {
    signal: ac.signal,
    abort: (reason) => ac.abort(reason),
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
      ac.abort();
    },
  };
}
