import { BLOB_BUCKET, BusErrorCode, isBusError, openBlobStore, resultsBucket } from '@fleetscan/bus';
import { natsConnectOptions, provisionCluster } from '@fleetscan/stack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';

const Doc = z.object({ n: z.number(), pad: z.string() });
const uniq = () => Math.random().toString(36).slice(2, 8);

describe('the blob store on a real JetStream object store', () => {
  it('serves repeated reads from memory but never a replaced or deleted object', async () => {
    const nc = await connect(natsConnectOptions(inject('stack')));
    try {
      const js = jetstream(nc);
      const writer = await openBlobStore(js, { create: { replicas: 1 } });
      const reader = await openBlobStore(js);
      const key = `test/blobs/${uniq()}`;
      // Larger than one 128 KiB chunk, so a read takes several chunks.
      const pad = 'x'.repeat(300_000);
      await writer.put(Doc, key, { n: 1, pad });
      expect((await reader.get(Doc, key)).n).toBe(1);
      expect((await reader.get(Doc, key)).n).toBe(1);

      await writer.put(Doc, key, { n: 2, pad });
      expect((await reader.get(Doc, key)).n).toBe(2);

      await (await new Objm(js).open(BLOB_BUCKET)).delete(key);
      const err = await reader.get(Doc, key).catch((e: unknown) => e);
      expect(isBusError(err) && err.code).toBe(BusErrorCode.BlobMissing);
    } finally {
      await nc.close();
    }
  });

  it('reads leave no consumer behind on the bucket, and check what they read', async () => {
    const nc = await connect(natsConnectOptions(inject('stack')));
    try {
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      // No memory cache: every read goes to the server.
      const blobs = await openBlobStore(js, { create: { replicas: 1 }, cacheBytes: 0 });
      const key = `test/blobs/${uniq()}`;
      const pad = 'y'.repeat(700_000); // six 128 KiB chunks
      await blobs.put(Doc, key, { n: 3, pad });
      const consumers = async () => (await jsm.streams.info(`OBJ_${BLOB_BUCKET}`)).state.consumer_count;
      const before = await consumers();
      for (let i = 0; i < 5; i++) expect(await blobs.get(Doc, key)).toEqual({ n: 3, pad });
      // nats.js's own get() leaves an ordered consumer per read for 5 minutes.
      expect(await consumers()).toBe(before);
      const empty = `test/blobs/${uniq()}`;
      await (await new Objm(js).open(BLOB_BUCKET)).putBlob({ name: empty }, new Uint8Array());
      await expect(blobs.get(Doc, empty)).rejects.toMatchObject({ code: BusErrorCode.InvalidMessage });
    } finally {
      await nc.close();
    }
  });

  it("lets a writer read its own cluster's results bucket with direct gets alone, leaving no consumer", async () => {
    const stack = inject('stack');
    const cluster = `blobs-${uniq()}`;
    await provisionCluster(stack, cluster);
    const scanner = await connect(natsConnectOptions(stack, { role: 'scanner' }));
    const writer = await connect(natsConnectOptions(stack, { role: 'writer', cluster }));
    try {
      const bucket = resultsBucket(cluster);
      const store = await openBlobStore(jetstream(scanner), {
        bucket,
        create: { replicas: stack.nats.replicas },
      });
      const key = `image/${uniq()}`;
      const pad = 'z'.repeat(400_000); // four 128 KiB chunks
      await store.put(Doc, key, { n: 4, pad });
      const jsm = await jetstreamManager(scanner);
      const consumers = async () => (await jsm.streams.info(`OBJ_${bucket}`)).state.consumer_count;
      const before = await consumers();
      // The writer's identity may not create a consumer on its bucket: the read must not need one.
      const mine = await openBlobStore(jetstream(writer), { bucket, cacheBytes: 0 });
      expect(await mine.get(Doc, key)).toEqual({ n: 4, pad });
      expect(await consumers()).toBe(before);
    } finally {
      await Promise.all([scanner.close(), writer.close()]);
    }
  });
});
