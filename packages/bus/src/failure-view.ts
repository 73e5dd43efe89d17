import { backoff, type Logger, pause, type Timers } from '@fleetscan/service';
import type { DirectStreamAPI } from '@nats-io/jetstream';
import { decode } from './codec.ts';
import { morePending, readDirectBatch } from './direct-batch.ts';
import { bounded } from './retry-policy.ts';
import { failureKey, type ScanFailureRecord, ScanFailureRecordSchema } from './scan-failures.ts';

/** A record and the KV revision it was read at (the writer's compare-and-set needs it). */
export interface FailureEntry {
  record: ScanFailureRecord;
  revision: number;
}

/**
 * A cluster's failures bucket as a map kept current by reading its stream (readFailures), so the
 * common path — an image that scans fine — asks nothing of NATS, and a scrape counts failing
 * images from memory.
 */
export interface FailureView {
  get(namespace: string, image: string): FailureEntry | undefined;
  entries(): IterableIterator<FailureEntry>;
  readonly size: number;
  /** Resolves once the bucket's records are loaded (the first time). */
  readonly loaded: Promise<void>;
  stop(): Promise<void>;
}

/** What a view tells of each change. */
interface ViewDeps {
  logger: Pick<Logger, 'warn'>;
  /** `record` undefined: the key went; `previous` is what the view held of it. */
  onChange?(key: string, record: ScanFailureRecord | undefined, previous?: ScanFailureRecord): void;
}

/**
 * Applies a key's change (its value, or undefined when it went) at a revision to the map, only when
 * the revision is newer than what the map holds.
 */
function applier(
  map: Map<string, FailureEntry>,
  d: ViewDeps,
): (key: string, revision: number, value: Uint8Array | undefined) => void {
  return (key, revision, value) => {
    const held = map.get(key)?.revision ?? 0;
    if (revision <= held) return;
    if (!value || value.length === 0) {
      const previous = map.get(key)?.record;
      if (map.delete(key)) d.onChange?.(key, undefined, previous);
      return;
    }
    let record: ScanFailureRecord;
    try {
      record = decode(ScanFailureRecordSchema, value);
    } catch (err) {
      // Not ours (written by hand, or a newer version's): left alone, it expires with the bucket's max age.
      d.logger.warn(
        { key: bounded(key, 100), err: bounded((err as Error).message) },
        'invalid failure record',
      );
      return;
    }
    map.set(key, { record, revision });
    d.onChange?.(key, record);
  };
}

/** Messages read in one direct batch of the bucket's stream. */
const FAILURES_BATCH = 256;
/** How often the bucket is read again once it had nothing more (jittered ±20 %). */
export const FAILURES_POLL_MS = 2000;

/**
 * Follows the bucket read-only, with batched direct gets of its stream by sequence from the start
 * (no watch: a watch is a consumer, and an identity allowed to create consumers can ask for push
 * delivery to any subject; ARCHITECTURE.md, "Many clusters"). A KV bucket keeps each key's last
 * message, a deletion as a marker (`KV-Operation` DEL or PURGE), so reading the stream in sequence
 * order is a load and then a watch: each message applied at its sequence (the key's revision).
 * Loaded once the first read reached the end; then read again every `pollMs` (at once while
 * messages are pending). A read that fails is retried with backoff, where it stopped, until stop().
 */
export function readFailures(d: {
  direct: Pick<DirectStreamAPI, 'getBatch'>;
  bucket: string;
  timers: Timers;
  logger: Pick<Logger, 'warn'>;
  onChange?(key: string, record: ScanFailureRecord | undefined, previous?: ScanFailureRecord): void;
  onFailure?(): void;
  random?: () => number;
  pollMs?: number;
}): FailureView {
  const abort = new AbortController();
  const map = new Map<string, FailureEntry>();
  const apply = applier(map, d);
  const stream = `KV_${d.bucket}`;
  const prefix = `$KV.${d.bucket}.`;
  const poll = d.pollMs ?? FAILURES_POLL_MS;
  const random = d.random ?? Math.random;
  let markLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => {
    markLoaded = resolve;
  });
  const loop = (async () => {
    let next = 1;
    for (let failures = 0; !abort.signal.aborted; ) {
      let wait: number;
      try {
        const batch = await readDirectBatch(d.direct, stream, next, FAILURES_BATCH, 1024 * 1024);
        if (abort.signal.aborted) return;
        for (const m of batch) {
          next = m.seq + 1;
          if (!m.subject.startsWith(prefix)) continue;
          const op = m.header?.get('KV-Operation');
          apply(m.subject.slice(prefix.length), m.seq, op === 'DEL' || op === 'PURGE' ? undefined : m.data);
        }
        failures = 0;
        if (morePending(batch, FAILURES_BATCH)) continue;
        markLoaded();
        wait = Math.round(poll * (0.8 + 0.4 * random()));
      } catch (err) {
        d.onFailure?.();
        wait = backoff(failures++, 1000, 30_000, random);
        d.logger.warn({ err: bounded((err as Error).message) }, 'reading the scan failures bucket failed');
      }
      await pause(d.timers, wait, abort.signal);
    }
  })();
  return {
    get: (namespace, image) => map.get(failureKey(namespace, image)),
    entries: () => map.values(),
    get size() {
      return map.size;
    },
    loaded,
    async stop() {
      abort.abort();
      markLoaded();
      await loop;
    },
  };
}
