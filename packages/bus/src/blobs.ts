import { createHash } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { type ObjectInfo, type ObjectStore, Objm } from '@nats-io/obj';
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
   * Bytes of recently read objects kept in memory. One image's result is read once per namespace
   * that runs it; a cached object is served after a metadata lookup shows it is still the same put
   * (same nuid). 0 turns it off.
   */
  cacheBytes?: number;
}

export async function openBlobStore(js: JetStreamClient, opts: BlobStoreOptions = {}): Promise<BlobStore> {
  const objm = new Objm(js);
  const ttl = (opts.ttlMs ?? 7 * 24 * 3600_000) * 1_000_000;
  const os: ObjectStore = await objm.create(BLOB_BUCKET, { ttl });
  const jsm = await js.jetstreamManager();
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
      const data = await readChunks(jsm, key, info);
      cache.set(key, info.nuid, data);
      return decode(schema, data);
    },
    async has(key) {
      const info = await os.info(key);
      return info !== null && !info.deleted;
    },
  };
}

/** Chunks asked for per direct batch request. */
const CHUNKS_PER_BATCH = 64;

/**
 * Reads an object's chunks with direct gets. The object store's own get() reads them through an
 * ordered push consumer that nats-server keeps for 5 minutes after the read (its
 * inactive_threshold, fixed by nats.js): 171 of them at the probe's peak. Direct gets (the
 * bucket's stream allows them) create no consumer at all. The digest of what was read is checked
 * against the object's, as get() does.
 */
async function readChunks(jsm: JetStreamManager, key: string, info: ObjectInfo): Promise<Uint8Array> {
  if (info.chunks === 0) return new Uint8Array();
  const stream = `OBJ_${BLOB_BUCKET}`;
  const subject = `$O.${BLOB_BUCKET}.C.${info.nuid}`;
  const parts: Uint8Array[] = [];
  let next = 1;
  while (parts.length < info.chunks) {
    const batch = await jsm.direct.getBatch(stream, {
      seq: next,
      next_by_subj: subject,
      batch: Math.min(CHUNKS_PER_BATCH, info.chunks - parts.length),
    });
    let last = 0;
    for await (const m of batch) {
      parts.push(m.data);
      last = m.seq;
    }
    if (last === 0) break;
    next = last + 1;
  }
  const data = Buffer.concat(parts);
  const corrupt = (why: string) =>
    new BusError(BusErrorCode.BlobCorrupt, `blob ${key} in ${BLOB_BUCKET}: ${why}`);
  if (parts.length !== info.chunks) throw corrupt(`${parts.length} of ${info.chunks} chunks`);
  if (data.length !== info.size) throw corrupt(`${data.length} of ${info.size} bytes`);
  if (!sameDigest(info.digest, createHash('sha256').update(data).digest())) throw corrupt('digest mismatch');
  return data;
}

/** `SHA-256=<base64url>` as nats.js writes it (hex and plain base64 from other clients too). */
function sameDigest(digest: string, sha256: Buffer): boolean {
  const value = digest.replace(/^SHA-256=/i, '');
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  return bytes.equals(sha256);
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
