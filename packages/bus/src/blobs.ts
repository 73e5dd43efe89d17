import { createHash } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { type ObjectInfo, type ObjectStore, Objm } from '@nats-io/obj';
import type { z } from 'zod';
import { BusError, BusErrorCode, decode, encode } from './codec.ts';
import { ensureReplicas } from './replicas.ts';
import { BLOB_BUCKET } from './topology.ts';

/**
 * JSON documents in a JetStream object store: image results keyed by digest in BLOB_BUCKET (the
 * cache every scanner shares), and results too large for a message in each cluster's own results
 * bucket (resultsBucket). The object store chunks, so size is not limited by max_payload.
 */
export interface BlobStore {
  readonly bucket: string;
  /**
   * Stores `value` under `key`. With `keepWithinMs`, an object already holding the same bytes and
   * stored less than that long ago is kept as is (a copy that would change nothing is not made).
   */
  put<T>(schema: z.ZodType<T>, key: string, value: T, opts?: { keepWithinMs?: number }): Promise<void>;
  get<T>(schema: z.ZodType<T>, key: string): Promise<T>;
  has(key: string): Promise<boolean>;
}

export interface BlobStoreOptions {
  /** Default: BLOB_BUCKET, the scanners' shared cache. */
  bucket?: string;
  /**
   * Create the bucket if it is missing, and bring its replicas to this count (the topology's
   * owner, the scanners, does); without it the bucket is only opened, and must exist.
   */
  create?: { replicas: number };
  /** Age at which objects are dropped (the bucket's max age), when it is created. */
  ttlMs?: number;
  /**
   * Bytes of recently read objects kept in memory. One image's result is read once per namespace
   * that runs it; a cached object is served after a metadata lookup shows it is still the same put
   * (same nuid). 0 turns it off.
   */
  cacheBytes?: number;
}

export async function openBlobStore(js: JetStreamClient, opts: BlobStoreOptions = {}): Promise<BlobStore> {
  const bucket = opts.bucket ?? BLOB_BUCKET;
  const objm = new Objm(js);
  let os: ObjectStore;
  if (opts.create) {
    const ttl = (opts.ttlMs ?? 7 * 24 * 3600_000) * 1_000_000;
    os = await objm.create(bucket, { ttl, replicas: opts.create.replicas });
    await ensureReplicas(js, `OBJ_${bucket}`, opts.create.replicas);
  } else {
    os = await objm.open(bucket);
  }
  const jsm = await js.jetstreamManager();
  const cache = createBytesCache(opts.cacheBytes ?? 64 * 1024 * 1024);
  const missing = (key: string) =>
    new BusError(BusErrorCode.BlobMissing, `blob ${key} not found in ${bucket}`);
  return {
    bucket,
    async put(schema, key, value, o = {}) {
      const bytes = encode(schema, value);
      if (o.keepWithinMs !== undefined) {
        const info = await os.info(key);
        if (
          info &&
          !info.deleted &&
          info.digest === objectDigest(bytes) &&
          Date.now() - Date.parse(info.mtime) < o.keepWithinMs
        ) {
          return;
        }
      }
      await os.putBlob({ name: key }, bytes);
    },
    async get(schema, key) {
      const info = await os.info(key);
      if (!info || info.deleted) throw missing(key);
      const cached = cache.get(key, info.nuid);
      if (cached) return decode(schema, cached);
      const data = await readChunks(jsm, bucket, key, info);
      cache.set(key, info.nuid, data);
      return decode(schema, data);
    },
    async has(key) {
      const info = await os.info(key);
      return info !== null && !info.deleted;
    },
  };
}

/** The object store's digest of these bytes (`SHA-256=` and padded base64url), as its metadata holds it. */
export function objectDigest(bytes: Uint8Array): string {
  const b64 = createHash('sha256').update(bytes).digest('base64');
  return `SHA-256=${b64.replace(/\+/g, '-').replace(/\//g, '_')}`;
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
async function readChunks(
  jsm: JetStreamManager,
  bucket: string,
  key: string,
  info: ObjectInfo,
): Promise<Uint8Array> {
  if (info.chunks === 0) return new Uint8Array();
  const stream = `OBJ_${bucket}`;
  const subject = `$O.${bucket}.C.${info.nuid}`;
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
  const corrupt = (why: string) => new BusError(BusErrorCode.BlobCorrupt, `blob ${key} in ${bucket}: ${why}`);
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
