export interface BatcherOptions<I, O> {
  /** Items per run at most. */
  maxSize: number;
  /** When nothing runs, how long a first item waits for others before its run starts. */
  waitMs: number;
  /** One run over a batch: one output per item, in the items' order. */
  run(items: readonly I[]): Promise<readonly O[]>;
  /** Aborted: items not yet in a run are rejected, and no run starts. */
  signal: AbortSignal;
}

export interface Batcher<I, O> {
  /** Resolves with the item's output once the run it joined ends; rejects with that run's error. */
  submit(item: I): Promise<O>;
  /** Items waiting for a run. */
  readonly waiting: number;
}

/**
 * Adaptive batching: one run at a time. What arrives while a run is busy waits and goes together
 * into the next run as soon as it ends, so the batch size follows the load (a lone item waits
 * `waitMs` for company; under load, runs follow each other with whatever arrived meanwhile).
 */
export function createBatcher<I, O>(o: BatcherOptions<I, O>): Batcher<I, O> {
  const waiting: { item: I; resolve(out: O): void; reject(err: unknown): void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const stopped = () => (o.signal.reason as unknown) ?? new Error('stopped');

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (running || waiting.length === 0 || o.signal.aborted) return;
    const batch = waiting.splice(0, o.maxSize);
    running = true;
    void Promise.resolve()
      .then(() => o.run(batch.map((b) => b.item)))
      .then(
        (outs) => {
          batch.forEach((b, i) => {
            if (i < outs.length) b.resolve(outs[i] as O);
            else b.reject(new Error(`a batch run gave ${outs.length} outputs for ${batch.length} items`));
          });
        },
        (err: unknown) => {
          for (const b of batch) b.reject(err);
        },
      )
      .finally(() => {
        running = false;
        flush();
      });
  }

  o.signal.addEventListener(
    'abort',
    () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const w of waiting.splice(0)) w.reject(stopped());
    },
    { once: true },
  );

  return {
    submit(item) {
      if (o.signal.aborted) return Promise.reject(stopped());
      return new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (waiting.length >= o.maxSize) flush();
        else if (!running) timer ??= setTimeout(flush, o.waitMs);
      });
    },
    get waiting() {
      return waiting.length;
    },
  };
}
