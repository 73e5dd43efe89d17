import {
  type ConfigAuditSettings,
  canonicalConfigAuditSettings,
  canonicalScanSettings,
  pluginConfigHash,
  type ScanSettings,
  scanConfigHash,
} from '@fleetscan/bus';
import type { ImageScanner } from '@fleetscan/reports';

export interface SettingsHashes {
  /** Image scans: scanners + settings; part of the scanner's cache key and of each VulnerabilityReport. */
  scanConfigHash: string;
  /** Config audits: trivy-operator's `plugin-config-hash` label on ConfigAuditReports. */
  pluginConfigHash: string;
}

/**
 * The hashes that decide whether a report was produced with today's settings:
 * a change to any of them refreshes exactly the reports it affects.
 */
export function settingsHashes(
  scanners: readonly ImageScanner[],
  settings: ScanSettings,
  configAudit: ConfigAuditSettings,
): SettingsHashes {
  return {
    scanConfigHash: scanConfigHash(canonicalScanSettings(scanners, settings)),
    pluginConfigHash: pluginConfigHash(canonicalConfigAuditSettings(configAudit)),
  };
}
