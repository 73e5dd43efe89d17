import {
  type AdditionalVulnerabilityField,
  AdditionalVulnerabilityFieldSchema,
  computeSpecHash,
  type ImageConfigScanner,
  type ImageScanner,
  imageConfigScannersFor,
  type Severity,
  SeveritySchema,
} from '@fleetscan/reports';
import { z } from 'zod';

// Limits: paths as long as Linux allows (PATH_MAX), files any hand-written policy fits in.
const Paths = z.array(z.string().max(4096)).max(256);
const MAX_SETTINGS_FILE = 64 * 1024;

/**
 * How a cluster wants its images scanned and reported. `skipFiles`/`skipDirs` change what trivy
 * analyses in the image; the ignore settings and filters only change how packages are matched, so
 * a change there is answered from the stored SBOM without pulling again; `reportFields` only
 * changes what the reports show, so a change there is answered from the stored result.
 */
export const ScanSettingsSchema = z
  .object({
    severities: z.array(SeveritySchema).max(8).optional(),
    ignoreUnfixed: z.boolean().optional(),
    skipFiles: Paths.optional(),
    skipDirs: Paths.optional(),
    /** Contents of a .trivyignore file (one ID per line, optional `exp:YYYY-MM-DD`). */
    ignoreFile: z.string().max(MAX_SETTINGS_FILE).optional(),
    /** Contents of a .trivyignore.yaml file (trivy's YAML ignore format: IDs with paths, PURLs, expiry). */
    ignoreFileYaml: z.string().max(MAX_SETTINGS_FILE).optional(),
    /** Contents of a Rego ignore policy (trivy --ignore-policy). */
    ignorePolicy: z.string().max(MAX_SETTINGS_FILE).optional(),
    /** trivy-operator's additionalVulnerabilityReportFields: what VulnerabilityReports show. */
    reportFields: z.array(AdditionalVulnerabilityFieldSchema).max(16).optional(),
  })
  // trivy reads one ignore file, in the format its name says.
  .refine((s) => !(s.ignoreFile && s.ignoreFileYaml), {
    message: 'ignoreFile and ignoreFileYaml are exclusive: trivy reads one ignore file',
    path: ['ignoreFileYaml'],
  });
export type ScanSettings = z.infer<typeof ScanSettingsSchema>;

/** What changes trivy's analysis of the image (what it reads from the layers and the config). */
export interface AnalysisSettings {
  scanners: ImageScanner[];
  /** Derived from the scanners (imageConfigScannersFor), not a setting of its own. */
  imageConfigScanners?: ImageConfigScanner[];
  skipFiles?: string[];
  skipDirs?: string[];
}

/** What only changes which of the found vulnerabilities are reported: applied at match time. */
export interface MatchSettings {
  severities?: Severity[];
  ignoreUnfixed?: boolean;
  /** .trivyignore contents. */
  ignoreFile?: string;
  /** .trivyignore.yaml contents. */
  ignoreFileYaml?: string;
  /** Rego ignore policy contents. */
  ignorePolicy?: string;
}

/** What only changes how a result is written into reports: the scanner's result is the same. */
export interface ReportSettings {
  reportFields?: AdditionalVulnerabilityField[];
}

/** Scanners and settings in their one canonical form, split by what they change. */
export interface CanonicalScanSettings {
  analysis: AnalysisSettings;
  match: MatchSettings;
  report: ReportSettings;
}

/**
 * The one canonical form of scanners + settings, for the watcher (the scanConfigHash its reports
 * record) and the scanner (its cache keys, computed from the analysis and match settings, never
 * from a requester's hash). If the two drifted, a scanner would serve a result produced with other
 * settings. Lists are sorted and de-duplicated and empty values left out, so "nothing" has one
 * spelling.
 */
export function canonicalScanSettings(
  scanners: readonly ImageScanner[],
  settings: ScanSettings,
): CanonicalScanSettings {
  const list = <T extends string>(v: readonly T[] | undefined) =>
    v && v.length > 0 ? [...new Set(v)].sort() : undefined;
  const canonicalScanners = list(scanners) ?? [];
  const imageConfigScanners = list(imageConfigScannersFor(canonicalScanners));
  const skipFiles = list(settings.skipFiles);
  const skipDirs = list(settings.skipDirs);
  const severities = list(settings.severities);
  const reportFields = list(settings.reportFields);
  return {
    analysis: {
      scanners: canonicalScanners,
      ...(imageConfigScanners && { imageConfigScanners }),
      ...(skipFiles && { skipFiles }),
      ...(skipDirs && { skipDirs }),
    },
    match: {
      ...(severities && { severities }),
      ...(settings.ignoreUnfixed && { ignoreUnfixed: true }),
      ...(settings.ignoreFile && { ignoreFile: settings.ignoreFile }),
      ...(settings.ignoreFileYaml && { ignoreFileYaml: settings.ignoreFileYaml }),
      ...(settings.ignorePolicy && { ignorePolicy: settings.ignorePolicy }),
    },
    report: {
      ...(reportFields && { reportFields }),
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
  return computeSpecHash({
    ...c.analysis,
    ...c.match,
    ...c.report,
    ignoreUnfixed: c.match.ignoreUnfixed ?? false,
  });
}
