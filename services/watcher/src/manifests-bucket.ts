import { type BlobStore, manifestsBucket, openBlobStore, STREAM_SCAN } from '@fleetscan/bus';
import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * Where this cluster's manifests too large for a request go: its own bucket (manifestsBucket),
 * which only its watcher may write. Created when a manifest first needs it — most clusters never
 * have one — with the replicas of the scanners' scan stream, so it lives on as many NATS nodes as
 * the topology they own without the watcher being told how many. A failed open is tried again by
 * the next put.
 */
export function createManifestsBucket(js: JetStreamClient, cluster: string): Pick<BlobStore, 'put'> {
  let bucket: Promise<BlobStore> | undefined;
  const open = async (): Promise<BlobStore> => {
    const jsm = await js.jetstreamManager(false);
    const replicas = (await jsm.streams.info(STREAM_SCAN)).config.num_replicas ?? 1;
    // Read once by a scanner: nothing to keep in memory here.
    return openBlobStore(js, { bucket: manifestsBucket(cluster), create: { replicas }, cacheBytes: 0 });
  };
  return {
    async put(schema, key, value, opts) {
      bucket ??= open();
      const b = await bucket.catch((err: unknown) => {
        bucket = undefined;
        throw err;
      });
      await b.put(schema, key, value, opts);
    },
  };
}
