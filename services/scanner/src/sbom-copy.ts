import {
  type BlobStore,
  BusErrorCode,
  ImageSbomSchema,
  isBusError,
  type SbomEntry,
  SbomEntrySchema,
} from '@fleetscan/bus';

/**
 * A copy in the cluster's bucket that holds the same bytes is kept when younger than this (as a
 * result's copy is, result-payload.ts): one write per cluster and analysis a day, not per result.
 */
const KEEP_COPY_MS = 24 * 3600_000;

/**
 * Copies the SBOM of the analysis behind a result (`key` in the shared cache) into the requesting
 * cluster's results bucket, under the same key, for its writer's SbomReports: writers may read
 * only their own bucket. Returns the key, or undefined when the analysis is no longer stored (the
 * result is published without it). Other failures are thrown: the request is retried.
 */
export async function copySbom(o: {
  blobs: Pick<BlobStore, 'get'>;
  bucket: () => Promise<Pick<BlobStore, 'put'>>;
  key: string;
}): Promise<string | undefined> {
  let entry: SbomEntry;
  try {
    entry = await o.blobs.get(SbomEntrySchema, o.key);
  } catch (err) {
    if (isBusError(err, BusErrorCode.BlobMissing)) return undefined;
    throw err;
  }
  const copy = {
    v: 1 as const,
    digest: entry.digest,
    analysedAt: entry.analysedAt,
    scanner: entry.scanner,
    sbom: entry.sbom,
  };
  await (await o.bucket()).put(ImageSbomSchema, o.key, copy, { keepWithinMs: KEEP_COPY_MS });
  return o.key;
}
