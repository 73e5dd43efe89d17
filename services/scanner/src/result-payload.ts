import type { BlobStore } from '@fleetscan/bus';
import type { z } from 'zod';

/** Results above this go to the cluster's results bucket; NATS's default max_payload is 1 MiB. */
export const INLINE_LIMIT = 256 * 1024;

/**
 * A stored copy that holds the same bytes is kept when younger than this; older ones are written
 * again so the bucket's max age never drops an object a waiting result still names.
 */
const KEEP_COPY_MS = 24 * 3600_000;

/**
 * How a result's data reaches its cluster: inline in the result message when small, else as a copy
 * under `key` in that cluster's own results bucket, which only its writer may read. Never a key of
 * the shared blob cache, which would let any cluster read every other's results.
 */
export async function carry<T>(
  schema: z.ZodType<T>,
  data: T,
  key: string,
  bucket: () => Promise<BlobStore>,
): Promise<{ data: T } | { blob: string }> {
  if (Buffer.byteLength(JSON.stringify(data)) <= INLINE_LIMIT) return { data };
  await (await bucket()).put(schema, key, data, { keepWithinMs: KEEP_COPY_MS });
  return { blob: key };
}
