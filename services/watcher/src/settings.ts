import type { ScanSettings } from '@fleetscan/bus';
import { computeSpecHash } from '@fleetscan/reports';

export type Scanners = ('vuln' | 'secret')[];

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
export function settingsHashes(scanners: Scanners, settings: ScanSettings): SettingsHashes {
  const canonical = {
    scanners: [...scanners].sort(),
    severities: settings.severities ? [...settings.severities].sort() : undefined,
    ignoreUnfixed: settings.ignoreUnfixed ?? false,
    skipFiles: settings.skipFiles ? [...settings.skipFiles].sort() : undefined,
    skipDirs: settings.skipDirs ? [...settings.skipDirs].sort() : undefined,
    ignoreFile: settings.ignoreFile,
    ignorePolicy: settings.ignorePolicy,
  };
  return {
    scanConfigHash: computeSpecHash(canonical),
    pluginConfigHash: computeSpecHash({ audit: 'trivy-config', checks: 'embedded' }),
  };
}
