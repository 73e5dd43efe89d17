import { backoff, type Logger, pause, type Timers } from '@fleetscan/service';
import type { DirectStreamAPI, StreamAPI } from '@nats-io/jetstream';
import { decode } from './codec.ts';
import { morePending, readDirectBatch } from './direct-batch.ts';
import { bounded } from './retry-policy.ts';
import { failureKey, type ScanFailureRecord, ScanFailureRecordSchema } from './scan-failures.ts';
import { isNotFound } from './topology.ts';

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
 * How often an idle view looks at the bucket's stream itself (one stream info): a deleted stream
 * reads as "nothing at or after this sequence", so only its info tells it went or came back new.
 */
export const FAILURES_CHECK_MS = 15_000;

/**
 * Follows the bucket read-only, with batched direct gets of its stream by sequence from the start
 * (no watch: a watch is a consumer, and an identity allowed to create consumers can ask for push
 * delivery to any subject; ARCHITECTURE.md, "Many clusters"). A KV bucket keeps each key's last
 * message, a deletion as a marker (`KV-Operation` DEL or PURGE), so reading the stream in sequence
 * order is a load and then a watch: each message applied at its sequence (the key's revision).
 * Loaded once the first read reached the end; then read again every `pollMs` (at once while
 * messages are pending). A read that fails is retried with backoff, where it stopped, until stop().
 * With `streams`, the stream is looked at after a failed read and every FAILURES_CHECK_MS while idle:
 * gone (an operator deleted the bucket), `onGone` is told (the caller asks for it again) and the
 * view empties, each record told as removed; made again since (its creation time changed), the view
 * empties too and reads the new stream from its start, whose sequences began again at 1.
 */
export function readFailures(d: {
  direct: Pick<DirectStreamAPI, 'getBatch'>;
  bucket: string;
  timers: Timers;
  logger: Pick<Logger, 'warn'>;
  onChange?(key: string, record: ScanFailureRecord | undefined, previous?: ScanFailureRecord): void;
  onFailure?(): void;
  streams?: Pick<StreamAPI, 'info'>;
  onGone?(why: string): void;
  random?: () => number;
  pollMs?: number;
  checkMs?: number;
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
  const checkEvery = Math.max(1, Math.round((d.checkMs ?? FAILURES_CHECK_MS) / poll));
  let next = 1;
  // The stream's creation time as last seen: another one is a new stream.
  let created: string | undefined;
  const reset = () => {
    next = 1;
    for (const [key, e] of map) {
      map.delete(key);
      d.onChange?.(key, undefined, e.record);
    }
  };
  /** Looks at the stream: renewed, the view starts again from the new stream's start. */
  const check = async (): Promise<'same' | 'renewed' | 'gone' | 'unknown'> => {
    if (!d.streams) return 'unknown';
    let info: { created: string };
    try {
      info = await d.streams.info(stream);
    } catch (err) {
      if (!isNotFound(err)) return 'unknown';
      reset();
      created = undefined;
      d.onGone?.(`${stream}: ${bounded((err as Error).message, 100)}`);
      return 'gone';
    }
    const renewed = created !== undefined && info.created !== created;
    created = info.created;
    if (!renewed) return 'same';
    reset();
    return 'renewed';
  };
  const loop = (async () => {
    await check();
    let logged = false;
    for (let failures = 0, idle = 0; !abort.signal.aborted; ) {
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
        logged = false;
        if (morePending(batch, FAILURES_BATCH)) continue;
        markLoaded();
        if (++idle >= checkEvery) {
          idle = 0;
          if ((await check()) === 'renewed') continue;
        }
        wait = Math.round(poll * (0.8 + 0.4 * random()));
      } catch (err) {
        d.onFailure?.();
        wait = backoff(failures++, 1000, 30_000, random);
        // One line per run of failures, not per attempt; none when the bucket is gone (onGone's
        // caller says so once per episode).
        if ((await check()) !== 'gone' && !logged) {
          logged = true;
          d.logger.warn({ err: bounded((err as Error).message) }, 'reading the scan failures bucket failed');
        }
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
