import { createHash } from 'node:crypto';
import type { AnalysisSettings, MatchSettings } from '@fleetscan/bus';

/**
 * What the scanner stores in the shared object store, and under which names. Nothing here is
 * taken from a request's scanConfigHash: the hashes are computed from the settings themselves
 * (in the canonical form of @fleetscan/bus, canonicalScanSettings), so a request cannot claim
 * another cluster's hash for settings that hide findings.
 *
 *   sbom/<digest>/<analysis hash>/<access>              one image analysis: CycloneDX + secrets
 *   image/<digest>/<db version>/<settings hash>/<access> one result (ImageScanData)
 *
 * `access` says who may read an entry. `public`: anyone may; it came from an anonymous pull, or
 * from a pull with credentials of a digest the registry also serves anonymously (a HEAD without
 * credentials succeeded), or from a public analysis. `private`: it came from a pull with a
 * request's registry credentials of a digest the registry does not serve anonymously; it is
 * served only to a request whose own credentials (or none) pass a HEAD on that digest in its
 * repository, since such a requester could pull the image itself. Digests are content
 * addresses, so a private and a public entry never disagree on content, only on who may see it.
 */
export type Access = 'public' | 'private';

/** Lookup order: a public entry needs no registry round trip. */
export const ACCESS_ORDER: readonly Access[] = ['public', 'private'];

export function hasMatchSettings(m: MatchSettings): boolean {
  return Object.keys(m).length > 0;
}

/**
 * Every analysis setting. The defaults stand first and in this order so that the keys of entries
 * stored so far stay the same; a setting added later gets no default, so where it is absent every
 * stored key stays the same too.
 */
export function analysisHash(a: AnalysisSettings): string {
  return hash(overDefaults(ANALYSIS_DEFAULTS, a));
}

/**
 * Every analysis and match setting: the result depends on all of them (report settings only change
 * how the writer shows it). Same care for stored keys as analysisHash.
 */
export function settingsHash(a: AnalysisSettings, m: MatchSettings): string {
  return hash({
    analysis: analysisHash(a),
    ...overDefaults(MATCH_DEFAULTS, m),
    ...(RESULT_FORMAT > 1 && { format: RESULT_FORMAT }),
  });
}

/**
 * What a stored result holds. 2: every additional vulnerability field (CVSS, PURL, …) for the
 * writer to choose from; results stored before lack some, so they are re-matched from their SBOM
 * once (no pull) instead of being served.
 */
const RESULT_FORMAT = 2;

const ANALYSIS_DEFAULTS = { scanners: [], skipFiles: [], skipDirs: [] } satisfies AnalysisSettings;
const MATCH_DEFAULTS = {
  severities: [],
  ignoreUnfixed: false,
  ignoreFile: '',
  ignorePolicy: '',
} satisfies MatchSettings;

function overDefaults(defaults: object, settings: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) out[k] = v;
  return out;
}

export function sbomKey(digest: string, analysis: string, access: Access): string {
  return `sbom/${safe(digest)}/${analysis}/${access}`;
}

export function imageCacheKey(digest: string, dbUpdatedAt: string, settings: string, access: Access): string {
  return `image/${safe(digest)}/${dbUpdatedAt.replace(/[^0-9A-Za-z]/g, '')}/${settings}/${access}`;
}

/** KV key of the lock that makes one analysis per (digest, analysis settings) across replicas. */
export function analysisLockKey(digest: string, analysis: string): string {
  return `img.${safe(digest).replace(/[^0-9A-Za-z_-]/g, '_')}.${analysis}`;
}

/** A cached result scanned before `notBefore` is stale (TTL refresh): re-matched, not served. */
export function isStale(scannedAt: string, notBefore: string | undefined): boolean {
  return notBefore !== undefined && Date.parse(scannedAt) < Date.parse(notBefore);
}

function safe(digest: string): string {
  return digest.replace(':', '-');
}

function hash(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 20);
}
