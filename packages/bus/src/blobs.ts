import type { JetStreamClient } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { z } from 'zod';
import { BusError, BusErrorCode, decode, encode } from './codec.ts';
import { BLOB_BUCKET } from './topology.ts';

/**
 * JSON documents in the JetStream object store: image results keyed by digest
 * (the cache every scanner shares) and payloads above NATS's max_payload.
 * The object store chunks, so size is not limited by max_payload.
 */
export interface BlobStore {
  put<T>(schema: z.ZodType<T>, key: string, value: T): Promise<void>;
  get<T>(schema: z.ZodType<T>, key: string): Promise<T>;
  has(key: string): Promise<boolean>;
}

export async function openBlobStore(js: JetStreamClient, opts: { ttlMs?: number } = {}): Promise<BlobStore> {
  const objm = new Objm(js);
  const ttl = (opts.ttlMs ?? 7 * 24 * 3600_000) * 1_000_000;
  const os: ObjectStore = await objm.create(BLOB_BUCKET, { ttl });
  return {
    async put(schema, key, value) {
      await os.putBlob({ name: key }, encode(schema, value));
    },
    async get(schema, key) {
      const data = await os.getBlob(key);
      if (!data) throw new BusError(BusErrorCode.BlobMissing, `blob ${key} not found in ${BLOB_BUCKET}`);
      return decode(schema, data);
    },
    async has(key) {
      const info = await os.info(key);
      return info !== null && !info.deleted;
    },
  };
}
