import { createHash } from 'node:crypto';
import type { ScanSettings } from '@fleetscan/bus';
import type { Severity } from '@fleetscan/reports';

/**
 * What the scanner stores in the shared object store, and under which names. Nothing here is
 * taken from a request's scanConfigHash: the hashes are computed from the settings themselves,
 * so a request cannot claim another cluster's hash for settings that hide findings.
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

export type Scanner = 'vuln' | 'secret';

/** What changes trivy's analysis of the image (what it reads from the layers). */
export interface AnalysisSettings {
  scanners: Scanner[];
  skipFiles?: string[];
  skipDirs?: string[];
}

/** What only changes which of the found vulnerabilities are reported: applied at match time. */
export interface MatchSettings {
  severities?: Severity[];
  ignoreUnfixed?: boolean;
  /** .trivyignore contents. */
  ignoreFile?: string;
  /** Rego ignore policy contents. */
  ignorePolicy?: string;
}

/** Splits a request's settings; lists are sorted and de-duplicated, empty values left out. */
export function splitSettings(
  scanners: readonly Scanner[],
  settings: ScanSettings,
): { analysis: AnalysisSettings; match: MatchSettings } {
  const list = <T extends string>(v: readonly T[] | undefined) =>
    v && v.length > 0 ? [...new Set(v)].sort() : undefined;
  const skipFiles = list(settings.skipFiles);
  const skipDirs = list(settings.skipDirs);
  const severities = list(settings.severities);
  return {
    analysis: {
      scanners: list(scanners) ?? [],
      ...(skipFiles && { skipFiles }),
      ...(skipDirs && { skipDirs }),
    },
    match: {
      ...(severities && { severities }),
      ...(settings.ignoreUnfixed && { ignoreUnfixed: true }),
      ...(settings.ignoreFile && { ignoreFile: settings.ignoreFile }),
      ...(settings.ignorePolicy && { ignorePolicy: settings.ignorePolicy }),
    },
  };
}

export function hasMatchSettings(m: MatchSettings): boolean {
  return Object.keys(m).length > 0;
}

export function analysisHash(a: AnalysisSettings): string {
  return hash({ scanners: a.scanners, skipFiles: a.skipFiles ?? [], skipDirs: a.skipDirs ?? [] });
}

/** Every setting: the result depends on all of them. */
export function settingsHash(a: AnalysisSettings, m: MatchSettings): string {
  return hash({
    analysis: analysisHash(a),
    severities: m.severities ?? [],
    ignoreUnfixed: m.ignoreUnfixed ?? false,
    ignoreFile: m.ignoreFile ?? '',
    ignorePolicy: m.ignorePolicy ?? '',
  });
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
