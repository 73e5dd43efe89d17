import type { BlobStore } from '@fleetscan/bus';
import type { z } from 'zod';

/** Result messages above this go to the cluster's results bucket; NATS's default max_payload is 1 MiB. */
export const INLINE_LIMIT = 256 * 1024;
/** Room left under max_payload for the headers (message id) that go with a result. */
export const HEADER_ROOM = 8 * 1024;

/**
 * A stored copy that holds the same bytes is kept when younger than this; older ones are written
 * again so the bucket's max age never drops an object a waiting result still names.
 */
const KEEP_COPY_MS = 24 * 3600_000;

/** The largest encoded result message sent with its data inline: our limit, and the server's. */
export function inlineLimit(maxPayload: number): number {
  return Math.min(INLINE_LIMIT, maxPayload - HEADER_ROOM);
}

export type Payload<T> = { data: T } | { blob: string };

/**
 * The result message that carries `data` to its cluster, encoded: with the data inline when the
 * whole message fits inlineLimit (a server with a small max_payload included), else naming a copy
 * under `key` in that cluster's own results bucket, which only its writer may read. Never a key of
 * the shared blob cache, which would let any cluster read every other's results.
 */
export async function carry<T>(o: {
  /** The data's schema (what the bucket's copy is checked against). */
  schema: z.ZodType<T>;
  data: T;
  key: string;
  bucket: () => Promise<BlobStore>;
  /** Encodes the result message with this payload (encode(): the message's limits apply). */
  message: (payload: Payload<T>) => Uint8Array;
  /** The server's max_payload. */
  maxPayload: number;
}): Promise<Uint8Array> {
  const inline = o.message({ data: o.data });
  if (inline.length <= inlineLimit(o.maxPayload)) return inline;
  await (await o.bucket()).put(o.schema, o.key, o.data, { keepWithinMs: KEEP_COPY_MS });
  return o.message({ blob: o.key });
}
