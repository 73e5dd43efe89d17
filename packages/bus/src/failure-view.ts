import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, type Logger, pause, type Timers } from '@fleetscan/service';
import type { DirectStreamAPI } from '@nats-io/jetstream';
import { type KV, KvWatchInclude } from '@nats-io/kv';
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
 * A cluster's failures bucket as a map kept current by a watch, so the common path — an image
 * that scans fine — asks nothing of NATS, and a scrape counts failing images from memory.
 */
export interface FailureView {
  get(namespace: string, image: string): FailureEntry | undefined;
  entries(): IterableIterator<FailureEntry>;
  readonly size: number;
  /** Resolves once the bucket's records are loaded (the first time). */
  readonly loaded: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the bucket: a watch of updates first, then every key read once, each change applied only
 * when its revision is newer than what the map holds, so the read and the watch may overlap in any
 * order. A watch that ends or fails is started again (watch and read again) with backoff until
 * stop(); `onChange` is told of every record that appears, changes or goes.
 */
export function watchFailures(d: {
  kv: Pick<KV, 'watch' | 'keys' | 'get'>;
  logger: Pick<Logger, 'warn'>;
  /** `record` undefined: the key went; `previous` is what the view held of it. */
  onChange?(key: string, record: ScanFailureRecord | undefined, previous?: ScanFailureRecord): void;
  onFailure?(): void;
  random?: () => number;
}): FailureView {
  const abort = new AbortController();
  const map = new Map<string, FailureEntry>();
  let current: { stop(): void } | undefined;
  let markLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => {
    markLoaded = resolve;
  });
  /** Revisions of deletions seen while loading: a key read after its deletion was watched stays gone. */
  let tombstones: Map<string, number> | undefined;

  const apply = applier(map, d, () => tombstones);

  const loop = (async () => {
    for (let failures = 0; !abort.signal.aborted; ) {
      try {
        tombstones = new Map();
        const w = await d.kv.watch({ include: KvWatchInclude.UpdatesOnly });
        current = w;
        if (abort.signal.aborted) w.stop();
        const consumed = (async () => {
          for await (const e of w) {
            apply(e.key, e.revision, e.operation === 'PUT' ? e.value : undefined);
          }
        })();
        const keys: string[] = [];
        for await (const k of await d.kv.keys()) keys.push(k);
        const present = new Set(keys);
        for (const k of keys) {
          const e = await d.kv.get(k);
          if (e) apply(k, e.revision, e.operation === 'PUT' ? e.value : undefined);
        }
        // A reload after a failed watch: what is no longer in the bucket goes.
        for (const k of [...map.keys()]) {
          const previous = map.get(k)?.record;
          if (!present.has(k) && !tombstones.has(k) && map.delete(k)) d.onChange?.(k, undefined, previous);
        }
        tombstones = undefined;
        markLoaded();
        failures = 0;
        await consumed;
      } catch (err) {
        d.onFailure?.();
        d.logger.warn({ err: bounded((err as Error).message) }, 'watch of the scan failures bucket failed');
      }
      if (abort.signal.aborted) return;
      await sleep(backoff(failures++, 1000, 30_000, d.random), undefined, { signal: abort.signal }).catch(
        () => {},
      );
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
      current?.stop();
      markLoaded();
      await loop;
    },
  };
}

/** What a view tells of each change (watchFailures and readFailures alike). */
interface ViewDeps {
  logger: Pick<Logger, 'warn'>;
  /** `record` undefined: the key went; `previous` is what the view held of it. */
  onChange?(key: string, record: ScanFailureRecord | undefined, previous?: ScanFailureRecord): void;
}

/**
 * Applies a key's change (its value, or undefined when it went) at a revision to the map, only when
 * the revision is newer than what the map holds (or what `tombstones`, while a load overlaps a
 * watch, says went).
 */
function applier(
  map: Map<string, FailureEntry>,
  d: ViewDeps,
  tombstones: () => Map<string, number> | undefined,
): (key: string, revision: number, value: Uint8Array | undefined) => void {
  return (key, revision, value) => {
    const gone = tombstones();
    const held = map.get(key)?.revision ?? gone?.get(key) ?? 0;
    if (revision <= held) return;
    if (!value || value.length === 0) {
      if (gone) gone.set(key, revision);
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
    gone?.delete(key);
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
  const apply = applier(map, d, () => undefined);
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
