import { createHash } from 'node:crypto';
import type { ConfigAuditData, ImageScanData } from '@fleetscan/bus';
import { ANNOTATION_CONTENT_HASH, ANNOTATION_SCAN_CONFIG_HASH, type Owner } from '@fleetscan/inventory';
import {
  API_VERSION,
  CONFIG_AUDIT_REPORT,
  type ConfigAuditReport,
  configAuditReportMetadata,
  configAuditSummary,
  VULNERABILITY_REPORT,
  type VulnerabilityReport,
  vulnerabilityReportMetadata,
  vulnerabilitySummary,
} from '@fleetscan/reports';

/**
 * Pure report builders: (result, owner, settings) → the report object to
 * apply. The content hash covers everything but timestamps, so a rescan
 * that found the same thing is recognised and not written again.
 */

export interface BuildSettings {
  ttlSeconds: number;
}

const ownerOf = (o: Owner) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.name,
  namespace: o.namespace,
  uid: o.uid,
  labels: o.labels,
});

export function buildVulnerabilityReport(
  owner: Owner,
  container: string,
  data: ImageScanData,
  scanConfigHash: string,
  s: BuildSettings,
): VulnerabilityReport {
  const { scannedAt, dbUpdatedAt: _db, ...rest } = data;
  const report = {
    updateTimestamp: scannedAt,
    scanner: rest.scanner,
    registry: rest.registry,
    artifact: rest.artifact,
    os: rest.os,
    summary: vulnerabilitySummary(rest.vulnerabilities),
    vulnerabilities: rest.vulnerabilities,
  };
  const meta = vulnerabilityReportMetadata({
    owner: ownerOf(owner),
    container,
    resourceSpecHash: owner.specHash,
    ttlSeconds: s.ttlSeconds,
  });
  const contentHash = hashOf({ ...report, updateTimestamp: undefined }, meta.labels);
  return {
    apiVersion: API_VERSION,
    kind: VULNERABILITY_REPORT.kind,
    metadata: {
      ...meta,
      namespace: owner.namespace,
      annotations: {
        ...meta.annotations,
        [ANNOTATION_CONTENT_HASH]: contentHash,
        [ANNOTATION_SCAN_CONFIG_HASH]: scanConfigHash,
      },
    },
    report,
  };
}

export function buildConfigAuditReport(
  owner: Owner,
  data: ConfigAuditData,
  pluginConfigHash: string,
  s: BuildSettings,
): ConfigAuditReport {
  const report = {
    updateTimestamp: data.scannedAt,
    scanner: data.scanner,
    summary: configAuditSummary(data.checks),
    checks: data.checks,
  };
  const meta = configAuditReportMetadata({
    owner: ownerOf(owner),
    resourceSpecHash: owner.specHash,
    pluginConfigHash,
    ttlSeconds: s.ttlSeconds,
  });
  const contentHash = hashOf({ ...report, updateTimestamp: undefined }, meta.labels);
  return {
    apiVersion: API_VERSION,
    kind: CONFIG_AUDIT_REPORT.kind,
    metadata: {
      ...meta,
      namespace: owner.namespace,
      annotations: { ...meta.annotations, [ANNOTATION_CONTENT_HASH]: contentHash },
    },
    report,
  };
}

function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
