import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, type Logger } from '@fleetscan/service';
import { type KV, KvWatchInclude } from '@nats-io/kv';
import { decode } from './codec.ts';
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

  const apply = (key: string, revision: number, value: Uint8Array | undefined) => {
    const held = map.get(key)?.revision ?? tombstones?.get(key) ?? 0;
    if (revision <= held) return;
    if (!value || value.length === 0) {
      if (tombstones) tombstones.set(key, revision);
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
    tombstones?.delete(key);
    map.set(key, { record, revision });
    d.onChange?.(key, record);
  };

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
