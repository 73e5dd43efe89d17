import { computeSpecHash } from '@fleetscan/reports';

/** The scan settings a cluster asks for; their hashes go into cache keys and report labels. */
export interface ScanSettings {
  scanners: ('vuln' | 'secret')[];
}

export interface SettingsHashes {
  /** Image scans: part of the scanner's cache key and of each VulnerabilityReport. */
  scanConfigHash: string;
  /** Config audits: trivy-operator's `plugin-config-hash` label on ConfigAuditReports. */
  pluginConfigHash: string;
}

export function settingsHashes(s: ScanSettings): SettingsHashes {
  return {
    scanConfigHash: computeSpecHash({ scanners: [...s.scanners].sort() }),
    pluginConfigHash: computeSpecHash({ audit: 'trivy-config', checks: 'embedded' }),
  };
}
