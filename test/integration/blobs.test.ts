import { BLOB_BUCKET, BusErrorCode, isBusError, openBlobStore } from '@fleetscan/bus';
import { natsConnectOptions } from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
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
});
