/** The hashes that decide whether an owner's reports were produced with today's settings. */
export interface SettingsHashes {
  /** Image scans: scanners + settings; part of the scanner's cache key and of each VulnerabilityReport. */
  scanConfigHash: string;
  /** Config audits: trivy-operator's `plugin-config-hash` label on ConfigAuditReports. */
  pluginConfigHash: string;
}
