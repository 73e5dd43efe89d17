import {
  encode,
  type FailureView,
  failureKey,
  failuresBucket,
  type ScanFailureRecord,
  ScanFailureRecordSchema,
  STREAM_RESULTS,
  watchFailures,
} from '@fleetscan/bus';
import type { Logger } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';

export interface StoredFailure {
  record: ScanFailureRecord | undefined;
  revision: number;
}

/** Records of images nobody asks about any more (no owner runs them) leave the bucket after this. */
export const FAILURE_RECORD_MAX_AGE_MS = 24 * 3600_000;

/**
 * The writer's side of its cluster's failures bucket: the view (a watch), and compare-and-set
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
 * Creates (or binds) the bucket — the writer owns it, as a watcher owns its manifests bucket — with
 * the results stream's replicas (the topology's), a max age, and one value per key; then follows
 * it until `loaded`.
 */
export async function openFailureStore(d: {
  js: JetStreamClient;
  cluster: string;
  logger: Pick<Logger, 'warn'>;
  onWatchFailure?(): void;
}): Promise<FailureStore & { loaded: Promise<void>; stop(): Promise<void> }> {
  const jsm = await d.js.jetstreamManager(false);
  const replicas = (await jsm.streams.info(STREAM_RESULTS)).config.num_replicas ?? 1;
  const kv = await new Kvm(d.js).create(failuresBucket(d.cluster), {
    history: 1,
    ttl: FAILURE_RECORD_MAX_AGE_MS,
    replicas,
  });
  const view = watchFailures({
    kv,
    logger: d.logger,
    ...(d.onWatchFailure && { onFailure: d.onWatchFailure }),
  });
  return {
    get: (namespace, image) => view.get(namespace, image),
    entries: () => view.entries(),
    get size() {
      return view.size;
    },
    loaded: view.loaded,
    async read(namespace, image) {
      const e = await kv.get(failureKey(namespace, image));
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
      if (revision === undefined) await kv.create(key, value);
      else await kv.update(key, value, revision);
    },
    async delete(namespace, image) {
      await kv.delete(failureKey(namespace, image));
    },
    stop: () => view.stop(),
  };
}
