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

export interface BlobStoreOptions {
  ttlMs?: number;
  /**
   * Bytes of recently read objects kept in memory. Reading an object's chunks makes the server
   * create (on disk) and delete a consumer — ~1 ms of nats-server CPU each, 10× a metadata
   * lookup — and one image's result is read once per namespace that runs it. A cached object is
   * served after a metadata lookup shows it is still the same put (same nuid). 0 turns it off.
   */
  cacheBytes?: number;
}

export async function openBlobStore(js: JetStreamClient, opts: BlobStoreOptions = {}): Promise<BlobStore> {
  const objm = new Objm(js);
  const ttl = (opts.ttlMs ?? 7 * 24 * 3600_000) * 1_000_000;
  const os: ObjectStore = await objm.create(BLOB_BUCKET, { ttl });
  const cache = createBytesCache(opts.cacheBytes ?? 64 * 1024 * 1024);
  const missing = (key: string) =>
    new BusError(BusErrorCode.BlobMissing, `blob ${key} not found in ${BLOB_BUCKET}`);
  return {
    async put(schema, key, value) {
      await os.putBlob({ name: key }, encode(schema, value));
    },
    async get(schema, key) {
      const info = await os.info(key);
      if (!info || info.deleted) throw missing(key);
      const cached = cache.get(key, info.nuid);
      if (cached) return decode(schema, cached);
      const r = await os.get(key);
      if (!r) throw missing(key);
      const [err, data] = await Promise.all([r.error, readAll(r.data)]);
      if (err) throw err;
      cache.set(key, r.info.nuid, data);
      return decode(schema, data);
    },
    async has(key) {
      const info = await os.info(key);
      return info !== null && !info.deleted;
    },
  };
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of rs) parts.push(p);
  return Buffer.concat(parts);
}

/** Least recently used first out, by total bytes; an entry is valid for one put (its nuid). */
export function createBytesCache(maxBytes: number) {
  const entries = new Map<string, { nuid: string; data: Uint8Array }>();
  let bytes = 0;
  return {
    get(key: string, nuid: string): Uint8Array | undefined {
      const e = entries.get(key);
      if (!e || e.nuid !== nuid) return undefined;
      entries.delete(key);
      entries.set(key, e);
      return e.data;
    },
    set(key: string, nuid: string, data: Uint8Array): void {
      const old = entries.get(key);
      if (old) {
        entries.delete(key);
        bytes -= old.data.length;
      }
      if (data.length > maxBytes) return;
      entries.set(key, { nuid, data });
      bytes += data.length;
      for (const [k, e] of entries) {
        if (bytes <= maxBytes) break;
        entries.delete(k);
        bytes -= e.data.length;
      }
    },
    get size() {
      return bytes;
    },
  };
}
