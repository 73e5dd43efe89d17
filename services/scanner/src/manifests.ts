import { type BlobStore, manifestsBucket, openBlobStore } from '@fleetscan/bus';
import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * The manifests buckets the scanners read a large config request's manifest from: the bucket of
 * the request's own cluster (its watcher wrote it), opened on first use and never created here. A
 * failed open (the bucket not there yet) is tried again by the next request.
 */
export function createManifestBuckets(
  js: JetStreamClient,
): (cluster: string) => Promise<Pick<BlobStore, 'get'>> {
  const buckets = new Map<string, Promise<BlobStore>>();
  return (cluster) => {
    let b = buckets.get(cluster);
    if (!b) {
      // Each manifest is read once: no cache.
      b = openBlobStore(js, { bucket: manifestsBucket(cluster), cacheBytes: 0 });
      b.catch(() => buckets.delete(cluster));
      buckets.set(cluster, b);
    }
    return b;
  };
}
