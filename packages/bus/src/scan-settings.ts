import { computeSpecHash, type ImageScanner, type Severity, SeveritySchema } from '@fleetscan/reports';
import { z } from 'zod';

/**
 * How a cluster wants its images scanned. `skipFiles`/`skipDirs` change what
 * trivy analyses in the image; the rest only changes how packages are matched,
 * so a change there is answered from the stored SBOM without pulling again.
 */
// Limits: paths as long as Linux allows (PATH_MAX), files any hand-written policy fits in.
const Paths = z.array(z.string().max(4096)).max(256);
const MAX_SETTINGS_FILE = 64 * 1024;

export const ScanSettingsSchema = z.object({
  severities: z.array(SeveritySchema).max(8).optional(),
  ignoreUnfixed: z.boolean().optional(),
  skipFiles: Paths.optional(),
  skipDirs: Paths.optional(),
  /** Contents of a .trivyignore file. */
  ignoreFile: z.string().max(MAX_SETTINGS_FILE).optional(),
  /** Contents of a Rego ignore policy (trivy --ignore-policy). */
  ignorePolicy: z.string().max(MAX_SETTINGS_FILE).optional(),
});
export type ScanSettings = z.infer<typeof ScanSettingsSchema>;

/** What changes trivy's analysis of the image (what it reads from the layers). */
export interface AnalysisSettings {
  scanners: ImageScanner[];
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

/** Scanners and settings in their one canonical form, split by what they change. */
export interface CanonicalScanSettings {
  analysis: AnalysisSettings;
  match: MatchSettings;
}

/**
 * The one canonical form of scanners + settings, for the watcher (the scanConfigHash its reports
 * record) and the scanner (its cache keys, computed from the settings, never from a requester's
 * hash). If the two drifted, a scanner would serve a result produced with other settings. Lists
 * are sorted and de-duplicated and empty values left out, so "nothing" has one spelling.
 */
export function canonicalScanSettings(
  scanners: readonly ImageScanner[],
  settings: ScanSettings,
): CanonicalScanSettings {
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

/**
 * The scanConfigHash requests carry and VulnerabilityReports record (fleetscan.io/scan-config-hash):
 * a report made with other settings is refreshed. Every canonical setting takes part. The shape
 * (every setting at the top level, ignoreUnfixed always present, hashed with computeSpecHash) is
 * the one reports written so far carry: a different one would refresh every report at upgrade.
 */
export function scanConfigHash(c: CanonicalScanSettings): string {
  return computeSpecHash({ ...c.analysis, ...c.match, ignoreUnfixed: c.match.ignoreUnfixed ?? false });
}
