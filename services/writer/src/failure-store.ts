import {
  bounded,
  encode,
  type FailureView,
  failureKey,
  failuresBucket,
  readFailures,
  type ScanFailureRecord,
  ScanFailureRecordSchema,
  streamGone,
} from '@fleetscan/bus';
import type { Logger, Timers } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createOwnWrites } from './own-writes.ts';

export interface StoredFailure {
  record: ScanFailureRecord | undefined;
  revision: number;
}

/**
 * The writer's side of its cluster's failures bucket: the view (direct gets), and compare-and-set
 * writes. `write` with no revision creates the key and fails if it exists; with one it updates
 * only that revision; either way a conflict throws (the caller reads again and decides again).
 */
export interface FailureStore extends Pick<FailureView, 'get' | 'entries' | 'size'> {
  /**
   * The key as the bucket holds it now (not the view, which may be a moment behind): its revision,
   * and its record unless the value is not one (replaced by the next write). Undefined: no key.
   */
  read(namespace: string, image: string): Promise<StoredFailure | undefined>;
  write(record: ScanFailureRecord, revision: number | undefined): Promise<void>;
  delete(namespace: string, image: string): Promise<void>;
}

/**
 * Opens the bucket — the scanners create it when the writer asks (requestProvision), with a max
 * age and one value per key; the writer only writes its keys — and follows it with batched direct
 * gets of its stream (readFailures) until `loaded`: no KV watch, which is a consumer, and a
 * consumer create's body could ask for push delivery anywhere. The view may be a poll (2 s) behind
 * the bucket; `read` is not, and every write is a compare-and-set on what `read` saw.
 * Throws when the bucket does not exist (stream info: not found). Deleted later (by an operator),
 * a failed read or write finds it gone, or the view does (readFailures), and tells `onGone`: the
 * writer asks the scanners for it again, and the result whose write failed is retried meanwhile.
 */
export async function openFailureStore(d: {
  js: JetStreamClient;
  cluster: string;
  timers: Timers;
  logger: Pick<Logger, 'warn'>;
  onReadFailure?(): void;
  onGone?(why: string): void;
  now?: () => number;
}): Promise<FailureStore & { loaded: Promise<void>; stop(): Promise<void> }> {
  const bucket = failuresBucket(d.cluster);
  const jsm = await d.js.jetstreamManager(false);
  await jsm.streams.info(`KV_${bucket}`);
  const kv = await new Kvm(d.js).open(bucket);
  const view = readFailures({
    direct: jsm.direct,
    streams: jsm.streams,
    bucket,
    timers: d.timers,
    logger: d.logger,
    ...(d.onReadFailure && { onFailure: d.onReadFailure }),
    ...(d.onGone && { onGone: d.onGone }),
  });
  // A failed operation may be the bucket gone: looked up, and told, before the error goes on.
  const told = async <T>(op: Promise<T>): Promise<T> => {
    try {
      return await op;
    } catch (err) {
      if (d.onGone && (await streamGone(jsm.streams, `KV_${bucket}`))) {
        d.onGone(`KV_${bucket}: ${bounded(String((err as Error).message ?? err), 100)}`);
      }
      throw err;
    }
  };
  // The view is a poll behind: what this writer wrote itself counts at once (own-writes.ts).
  const own = createOwnWrites(d.now);
  return {
    get: (namespace, image) => own.get(failureKey(namespace, image), view.get(namespace, image)),
    entries: () => view.entries(),
    get size() {
      return view.size;
    },
    loaded: view.loaded,
    async read(namespace, image) {
      const e = await told(kv.get(failureKey(namespace, image)));
      if (e?.operation !== 'PUT') return undefined;
      let value: unknown;
      try {
        value = e.json();
      } catch {
        value = undefined;
      }
      const parsed = ScanFailureRecordSchema.safeParse(value);
      return { record: parsed.success ? parsed.data : undefined, revision: e.revision };
    },
    async write(record, revision) {
      const key = failureKey(record.namespace, record.image);
      const value = encode(ScanFailureRecordSchema, record);
      const at = await told(revision === undefined ? kv.create(key, value) : kv.update(key, value, revision));
      own.wrote(key, { record, revision: at });
    },
    async delete(namespace, image) {
      const key = failureKey(namespace, image);
      const held = own.get(key, view.get(namespace, image))?.revision ?? 0;
      await told(kv.delete(key));
      own.deleted(key, held);
    },
    stop: () => view.stop(),
  };
}
