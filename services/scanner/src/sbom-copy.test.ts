import { type BlobStore, BusError, BusErrorCode, type ImageSbomSchema, type SbomEntry } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { copySbom } from './sbom-copy.ts';

const KEY = 'sbom/sha256-1/a1/public';
const entry: SbomEntry = {
  v: 1,
  digest: 'sha256:1',
  scanners: ['vuln', 'secret'],
  analysedAt: '2026-11-26T09:00:00Z',
  storedAt: '2026-11-27T09:00:00Z',
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  os: { family: 'debian' },
  sbom: '{"bomFormat":"CycloneDX"}',
  secrets: [
    {
      target: '/app/.env',
      ruleID: 'aws-access-key-id',
      title: 'AWS Access Key ID',
      category: 'AWS',
      severity: 'CRITICAL',
      match: 'AWS_ACCESS_KEY_ID=****',
    },
  ],
};

/** The shared cache (reads) and a cluster's results bucket (puts), recorded. */
function stores(cached: SbomEntry | Error) {
  const puts: { key: string; value: unknown; keepWithinMs?: number | undefined }[] = [];
  const blobs = {
    get: async () => {
      if (cached instanceof Error) throw cached;
      return cached;
    },
  } as unknown as Pick<BlobStore, 'get'>;
  const bucket = async () =>
    ({
      put: async (
        schema: typeof ImageSbomSchema,
        key: string,
        value: unknown,
        o?: { keepWithinMs?: number },
      ) => {
        puts.push({ key, value: schema.parse(value), keepWithinMs: o?.keepWithinMs });
      },
    }) as unknown as Pick<BlobStore, 'put'>;
  return { blobs, bucket, puts };
}

describe('copySbom', () => {
  it("copies the analysis's SBOM, and nothing else of it, into the cluster's bucket under the same key", async () => {
    const { blobs, bucket, puts } = stores(entry);
    expect(await copySbom({ blobs, bucket, key: KEY })).toBe(KEY);
    expect(puts).toEqual([
      {
        key: KEY,
        value: {
          v: 1,
          digest: 'sha256:1',
          analysedAt: entry.analysedAt,
          scanner: entry.scanner,
          sbom: entry.sbom,
        },
        // A copy of the same bytes younger than a day is kept, not written again.
        keepWithinMs: 24 * 3600_000,
      },
    ]);
  });

  it('names none when the analysis is gone from the cache, and throws any other failure', async () => {
    const gone = stores(new BusError(BusErrorCode.BlobMissing, `blob ${KEY} not found`));
    expect(await copySbom({ ...gone, key: KEY })).toBeUndefined();
    expect(gone.puts).toEqual([]);
    const down = stores(new Error('object store did not answer'));
    await expect(copySbom({ ...down, key: KEY })).rejects.toThrow('did not answer');
  });
});
