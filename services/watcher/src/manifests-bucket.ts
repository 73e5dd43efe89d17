import { type BlobStore, isNotFound, manifestsBucket, openBlobStore } from '@fleetscan/bus';
import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * Where this cluster's manifests too large for a request go: its own bucket (manifestsBucket),
 * which only its watcher may write. The scanners create it when the watcher asks (`provision`, at
 * its start): the watcher may not create a stream. Opened when a manifest first needs it — most
 * clusters never have one; found missing (deleted since), it is asked for again and opened once
 * more. A failed open is tried again by the next put.
 */
export function createManifestsBucket(
  js: JetStreamClient,
  cluster: string,
  provision: () => Promise<boolean>,
): Pick<BlobStore, 'put'> {
  let bucket: Promise<BlobStore> | undefined;
  // Read once by a scanner: nothing to keep in memory here.
  const open = () => openBlobStore(js, { bucket: manifestsBucket(cluster), cacheBytes: 0 });
  const openOrAsk = async (): Promise<BlobStore> => {
    try {
      return await open();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (!(await provision())) throw err;
      return open();
    }
  };
  return {
    async put(schema, key, value, opts) {
      bucket ??= openOrAsk();
      const b = await bucket.catch((err: unknown) => {
        bucket = undefined;
        throw err;
      });
      await b.put(schema, key, value, opts);
    },
  };
}
