import { setTimeout as sleep } from 'node:timers/promises';
import { backoff } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type BlobStore, openBlobStore } from './blobs.ts';
import { ensureReplicas } from './replicas.ts';
import {
  ensureConsumer,
  ensureStreams,
  isNotFound,
  LOCK_BUCKET,
  resultsBucket,
  STATE_BUCKET,
  STREAM_SCAN,
  scanConsumerConfigs,
  type TopologyOptions,
} from './topology.ts';

export interface OwnedTopology {
  blobs: BlobStore;
  locks: KV;
  state: KV;
  /** A cluster's results bucket, created on first use (with the topology's replicas). */
  resultsBucket(cluster: string): Promise<BlobStore>;
}

/**
 * The topology's owner is the scanner fleet: it creates (or updates) the streams, the shared scan
 * consumers, the blob cache, the lock and state buckets, and each cluster's results bucket, all
 * with `replicas`. Watchers and writers only bind what exists (waitForStreams), so their
 * identities need no right to create or change a stream.
 */
export async function ensureTopology(js: JetStreamClient, o: TopologyOptions = {}): Promise<OwnedTopology> {
  const replicas = o.replicas ?? 1;
  const jsm = await js.jetstreamManager(false);
  await ensureStreams(jsm, o);
  for (const c of scanConsumerConfigs(o)) await ensureConsumer(jsm, STREAM_SCAN, c);
  const kvm = new Kvm(js);
  // Locks are refreshed by their holder; the bucket TTL only sweeps what nobody released.
  const locks = await kvm.create(LOCK_BUCKET, { ttl: 15 * 60_000, replicas });
  const state = await kvm.create(STATE_BUCKET, { replicas });
  await ensureReplicas(js, `KV_${LOCK_BUCKET}`, replicas);
  await ensureReplicas(js, `KV_${STATE_BUCKET}`, replicas);
  const blobs = await openBlobStore(js, { create: { replicas } });
  const buckets = new Map<string, Promise<BlobStore>>();
  return {
    blobs,
    locks,
    state,
    resultsBucket(cluster) {
      let b = buckets.get(cluster);
      if (!b) {
        b = openBlobStore(js, { bucket: resultsBucket(cluster), create: { replicas }, cacheBytes: 0 });
        // A failed open is tried again by the next caller.
        b.catch(() => buckets.delete(cluster));
        buckets.set(cluster, b);
      }
      return b;
    },
  };
}

/**
 * Waits until every stream exists (the scanners create them), telling `onWaiting` why it waits,
 * with backoff; returns early (false) when `signal` aborts. A watcher or writer started before
 * any scanner reports this in /readyz instead of failing.
 */
export async function waitForStreams(
  js: JetStreamClient,
  streams: readonly string[],
  o: { signal?: AbortSignal; onWaiting?: (reason: string) => void; random?: () => number } = {},
): Promise<boolean> {
  const jsm = await js.jetstreamManager(false);
  for (let attempt = 0; ; attempt++) {
    if (o.signal?.aborted) return false;
    const missing: string[] = [];
    let failure: string | undefined;
    for (const s of streams) {
      try {
        await jsm.streams.info(s);
      } catch (err) {
        if (isNotFound(err)) missing.push(s);
        else failure = (err as Error).message;
      }
    }
    if (missing.length === 0 && failure === undefined) return true;
    o.onWaiting?.(
      missing.length > 0
        ? `waiting for ${missing.join(', ')} (created by the scanners)`
        : `cannot look up the streams: ${failure}`,
    );
    await sleep(backoff(attempt, 500, 10_000, o.random), undefined, { signal: o.signal }).catch(() => {});
  }
}
