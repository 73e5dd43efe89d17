import type { ImageScanData } from '@fleetscan/bus';
import type { Check, Scanner } from '@fleetscan/reports';
import type { RegistryCredentials } from './digest.ts';

/** What the workers need from trivy; the real one is trivy-engine.ts, tests may pass another. */
export interface ScanEngine {
  scanImage(
    image: string,
    opts: {
      scanners: readonly ('vuln' | 'secret')[];
      credentials?: RegistryCredentials;
      signal: AbortSignal;
    },
  ): Promise<Omit<ImageScanData, 'scannedAt' | 'dbUpdatedAt'>>;
  /** Audits every manifest file in `dir` in one trivy run; returns checks by file name. */
  auditConfigs(dir: string, opts: { signal: AbortSignal }): Promise<Map<string, Check[]>>;
  scanner(): Promise<Scanner>;
  /** trivy DB version (metadata UpdatedAt): part of every image cache key. */
  dbUpdatedAt(): Promise<string>;
}

/** An engine error; `permanent` ones become error results instead of retries. */
export interface EngineFailure {
  code: string;
  message: string;
  permanent: boolean;
}
