import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { TrivyError, TrivyErrorCode } from './errors.ts';
import { parseJson } from './parse-json.ts';

// <cacheDir>/db/metadata.json, written next to trivy.db by trivy (or by our dbfixture):
// {"Version":2,"NextUpdate":"...","UpdatedAt":"...","DownloadedAt":"..."}
const MetadataSchema = z.looseObject({
  Version: z.int(),
  UpdatedAt: z.string().min(1),
  NextUpdate: z.string().min(1),
  DownloadedAt: z.string().optional(),
});

export interface DbInfo {
  /** The DB schema version (2 for trivy v0.74); says nothing about the DB's content. */
  version: number;
  /** When the DB content was built: this is what identifies it. */
  updatedAt: string;
  nextUpdate: string;
  downloadedAt?: string;
  /**
   * `<version>:<updatedAt>`: changes whenever the DB content or schema does. Cache scan
   * results under (image digest, key) and a new DB invalidates them.
   */
  key: string;
}

/** Reads the DB metadata; a missing or unreadable file is a (retryable) FAILED TrivyError. */
export async function readDbInfo(cacheDir: string): Promise<DbInfo> {
  const file = join(cacheDir, 'db', 'metadata.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TrivyError(TrivyErrorCode.Failed, `trivy DB metadata: cannot read ${file}`, { cause: err });
  }
  return parseDbMetadata(text, file);
}

export function parseDbMetadata(json: string, what = 'trivy DB metadata'): DbInfo {
  let m: z.output<typeof MetadataSchema>;
  try {
    m = parseJson(json, MetadataSchema, what);
  } catch (err) {
    // A broken metadata file is a broken cache dir, not a bad scan result: FAILED, not PARSE.
    throw new TrivyError(TrivyErrorCode.Failed, (err as Error).message, { cause: err });
  }
  return {
    version: m.Version,
    updatedAt: m.UpdatedAt,
    nextUpdate: m.NextUpdate,
    ...(m.DownloadedAt !== undefined && { downloadedAt: m.DownloadedAt }),
    key: `${m.Version}:${m.UpdatedAt}`,
  };
}
