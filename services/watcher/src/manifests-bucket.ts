import { type BlobStore, isNotFound, manifestsBucket, openBlobStore, streamGone } from '@fleetscan/bus';
import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * Where this cluster's manifests too large for a request go: its own bucket (manifestsBucket),
 * which only its watcher may write. The scanners create it when the watcher asks (`provision`, at
 * its start): the watcher may not create a stream. Opened when a manifest first needs it — most
 * clusters never have one. Found missing (deleted since: the open says not found, or a put fails
 * and its stream is gone), it is asked for again (`reask`, told why) and the put tried once more on
 * the bucket made again; a put that still fails throws, and the request is asked for again later.
 */
export function createManifestsBucket(
  js: JetStreamClient,
  cluster: string,
  reask: (why: string) => Promise<boolean>,
): Pick<BlobStore, 'put'> {
  const name = manifestsBucket(cluster);
  let bucket: Promise<BlobStore> | undefined;
  // Read once by a scanner: nothing to keep in memory here.
  const open = () => openBlobStore(js, { bucket: name, cacheBytes: 0 });
  const openOrAsk = async (): Promise<BlobStore> => {
    try {
      return await open();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (!(await reask(`${name}: ${(err as Error).message}`))) throw err;
      return open();
    }
  };
  const opened = async (): Promise<BlobStore> => {
    bucket ??= openOrAsk();
    return bucket.catch((err: unknown) => {
      bucket = undefined;
      throw err;
    });
  };
  return {
    async put(schema, key, value, opts) {
      const b = await opened();
      try {
        await b.put(schema, key, value, opts);
        return;
      } catch (err) {
        // An opened bucket deleted since fails every put (no stream takes its chunks): forgotten,
        // asked for again, and the put tried on the new one.
        const jsm = await js.jetstreamManager(false);
        if (!(await streamGone(jsm.streams, `OBJ_${name}`))) throw err;
        bucket = undefined;
        if (!(await reask(`OBJ_${name}: ${(err as Error).message}`))) throw err;
      }
      await (await opened()).put(schema, key, value, opts);
    },
  };
}
