import { failureKey, heldUntil, type ScanFailureRecord } from '@fleetscan/bus';
import type { Clock, Timers } from '@fleetscan/service';

/**
 * What to do with a request for an image in a namespace, given the writer's failure record:
 * - `ask`: no record, ask as usual;
 * - `hold`: the last scan failed and its retryAt has not come: do not ask (not even the resync);
 * - `retry`: retryAt has passed: ask, in the bulk lane, as round `round` (its message id differs
 *   per round, so JetStream's duplicate window does not drop it).
 */
export type HoldDecision =
  | { kind: 'ask' }
  | { kind: 'hold'; until: number }
  | { kind: 'retry'; round: number };

export interface FailureHolds {
  decide(namespace: string, image: string): HoldDecision;
  /**
   * The writer wrote a record (a failed round): its owners are evaluated again at its retryAt,
   * without waiting for a resync to look.
   */
  recorded(record: ScanFailureRecord): void;
  /**
   * A record went. Before its retryAt (someone deleted it to retry now) its owners are evaluated at
   * once; after it (the retry succeeded) nothing is due.
   */
  removed(record: ScanFailureRecord): void;
  /** Images held now, waiting for their retryAt. */
  readonly held: number;
  stop(): void;
}

/**
 * The watcher's hold on failing images. One timer, to the earliest retryAt of the images it held,
 * not one per image; when it fires, `onDue` re-evaluates the owners of each image whose time came.
 * The records are the writer's (the failures bucket, read through a watch), so the hold survives a
 * restart of the watcher: one retry chain per (cluster, namespace, image).
 */
export function createFailureHolds(d: {
  records: { get(namespace: string, image: string): ScanFailureRecord | undefined };
  clock: Clock;
  timers: Timers;
  onDue(namespace: string, image: string): void;
}): FailureHolds {
  const waiting = new Map<string, { namespace: string; image: string; at: number }>();
  let timer: { at: number; cancel: () => void } | undefined;
  const now = () => d.clock.now().getTime();

  function arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const w of waiting.values()) earliest = Math.min(earliest, w.at);
    if (timer && timer.at === earliest) return;
    timer?.cancel();
    timer = undefined;
    if (earliest === Number.POSITIVE_INFINITY) return;
    timer = { at: earliest, cancel: d.timers.after(Math.max(0, earliest - now()), fire) };
  }

  function fire(): void {
    timer = undefined;
    const t = now();
    const due = [...waiting.entries()].filter(([, w]) => w.at <= t);
    for (const [key] of due) waiting.delete(key);
    arm();
    for (const [, w] of due) d.onDue(w.namespace, w.image);
  }

  return {
    decide(namespace, image) {
      const record = d.records.get(namespace, image);
      const key = failureKey(namespace, image);
      const until = heldUntil(record, now());
      if (!record) {
        if (waiting.delete(key)) arm();
        return { kind: 'ask' };
      }
      if (until === undefined) {
        if (waiting.delete(key)) arm();
        return { kind: 'retry', round: record.failures };
      }
      waiting.set(key, { namespace, image, at: until });
      arm();
      return { kind: 'hold', until };
    },
    recorded(record) {
      const at = heldUntil(record, now());
      if (at === undefined) return;
      waiting.set(failureKey(record.namespace, record.image), {
        namespace: record.namespace,
        image: record.image,
        at,
      });
      arm();
    },
    removed(record) {
      const key = failureKey(record.namespace, record.image);
      const early = heldUntil(record, now()) !== undefined;
      if (waiting.delete(key)) arm();
      if (early) d.onDue(record.namespace, record.image);
    },
    get held() {
      return waiting.size;
    },
    stop() {
      timer?.cancel();
      timer = undefined;
      waiting.clear();
    },
  };
}
