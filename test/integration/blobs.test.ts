import { BLOB_BUCKET, BusErrorCode, isBusError, openBlobStore } from '@fleetscan/bus';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';

const Doc = z.object({ n: z.number(), pad: z.string() });
const uniq = () => Math.random().toString(36).slice(2, 8);

describe('the blob store on a real JetStream object store', () => {
  it('serves repeated reads from memory but never a replaced or deleted object', async () => {
    const nc = await connect({ servers: inject('stack').natsUrl });
    try {
      const js = jetstream(nc);
      const writer = await openBlobStore(js);
      const reader = await openBlobStore(js);
      const key = `test/blobs/${uniq()}`;
      // Larger than one 128 KiB chunk, so a read goes through the chunk consumer.
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
    const nc = await connect({ servers: inject('stack').natsUrl });
    try {
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      // No memory cache: every read goes to the server.
      const blobs = await openBlobStore(js, { cacheBytes: 0 });
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
});
