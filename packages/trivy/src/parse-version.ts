import { z } from 'zod';
import { parseJson } from './parse-json.ts';

// `trivy version --format json`: {"Version":"0.74.0","VulnerabilityDB":{"UpdatedAt":...}};
// VulnerabilityDB is absent when the cache dir has no DB.
const VersionSchema = z.looseObject({
  Version: z.string().min(1),
  VulnerabilityDB: z.looseObject({ UpdatedAt: z.string().optional() }).optional(),
});

export interface TrivyVersion {
  /** e.g. `0.74.0`; trivy-operator puts this in report.scanner.version. */
  version: string;
  /** When the DB in the cache dir was built (RFC 3339), if there is one. */
  dbUpdatedAt?: string;
}

export function parseVersion(json: string): TrivyVersion {
  const v = parseJson(json, VersionSchema, 'trivy version');
  const updatedAt = v.VulnerabilityDB?.UpdatedAt;
  return { version: v.Version, ...(updatedAt !== undefined && { dbUpdatedAt: updatedAt }) };
}
