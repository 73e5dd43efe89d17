import type {
  AnalysisSettings,
  ImageScanData,
  Manifest,
  MatchSettings,
  RegistryCredentials,
} from '@fleetscan/bus';
import type { ExposedSecret, Scanner } from '@fleetscan/reports';
import type { AuditOutcome } from '@fleetscan/trivy';

/** Report data of one image without the times the scanner adds (and secrets, kept apart). */
export type ImageFindings = Omit<ImageScanData, 'scannedAt' | 'dbUpdatedAt' | 'secrets'>;

/** One pull and analysis of an image: everything later re-matches need, without the image. */
export interface ImageAnalysis {
  /** The findings with the DB of now and no match-time settings. */
  findings: ImageFindings;
  /** Unfiltered; undefined unless the `secret` scanner ran. */
  secrets?: ExposedSecret[];
  /** CycloneDX JSON of the image's packages, without findings. */
  sbom: string;
}

/** What the workers need from trivy; the real one is trivy-engine.ts, tests may pass another. */
export interface ScanEngine {
  /**
   * Pulls and analyses the image (`trivy image` then `trivy convert`). `background`: work nobody
   * waits for (the bulk lane), run at a lower CPU priority.
   */
  analyseImage(
    image: string,
    opts: AnalysisSettings & { credentials?: RegistryCredentials; signal: AbortSignal; background?: boolean },
  ): Promise<ImageAnalysis>;
  /**
   * Matches a stored SBOM against the DB of now (`trivy sbom`) with the match-time settings; no
   * registry, no image. `image` is the reference the findings are reported for.
   */
  matchSbom(
    sbom: string,
    opts: { image: string; match: MatchSettings; signal: AbortSignal; background?: boolean },
  ): Promise<ImageFindings>;
  /**
   * Audits each manifest on its own, all in one call to the long-lived audit worker: one outcome
   * per manifest (its findings, or a permanent error for that manifest), in order. Rejects when
   * the batch as a whole could not run.
   */
  auditManifests(
    manifests: readonly Manifest[],
    opts: { signal: AbortSignal; urgent?: boolean },
  ): Promise<AuditOutcome[]>;
  scanner(): Promise<Scanner>;
  /**
   * Resolves with the trivy release of the audit worker's checks once config audits can run (the
   * worker started and compiled its checks), starting it if needed; rejects when it cannot start.
   */
  auditorReady(): Promise<string>;
  /** Whether the audit worker is up now with its checks compiled (false once it died, until it starts again). */
  auditorRunning(): boolean;
  /** trivy DB version (metadata UpdatedAt): part of every image cache key. */
  dbUpdatedAt(): Promise<string>;
  /** Stops what the engine keeps running (the audit worker). */
  close(): Promise<void>;
}

/** An engine error; `permanent` ones become error results instead of retries. */
export interface EngineFailure {
  code: string;
  message: string;
  permanent: boolean;
}
