/**
 * Resolves on the first SIGTERM or SIGINT; a second one forces exit, so a
 * stuck shutdown can always be interrupted by a person.
 */
export function onShutdownSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let first = true;
  let resolveFn: (s: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((r) => {
    resolveFn = r;
  });
  const handler = (sig: NodeJS.Signals) => {
    if (!first) process.exit(130);
    first = false;
    resolveFn(sig);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal,
    dispose() {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}
