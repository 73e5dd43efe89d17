import { createHash } from 'node:crypto';
import type { ConfigAuditData, ImageScanData } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  type AdditionalVulnerabilityField,
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_DB_UPDATED_AT,
  ANNOTATION_IMAGE_DIGEST,
  ANNOTATION_OMITTED_FINDINGS,
  ANNOTATION_SCAN_CONFIG_HASH,
  ANNOTATION_UPDATED_AT,
  API_VERSION,
  CONFIG_AUDIT_REPORT,
  type ConfigAuditReport,
  configAuditReportMetadata,
  configAuditSummary,
  EXPOSED_SECRET_REPORT,
  type ExposedSecretReport,
  exposedSecretReportMetadata,
  exposedSecretSummary,
  reportImageRef,
  severityRank,
  VULNERABILITY_REPORT,
  type VulnerabilityReport,
  vulnerabilityReportMetadata,
  vulnerabilitySummary,
  withVulnerabilityFields,
} from '@fleetscan/reports';

/**
 * Pure report builders: (result, owner, settings) → the report object to
 * apply. The content hash covers everything but timestamps, so a rescan
 * that found the same thing is recognised and not written again.
 */

export interface BuildSettings {
  ttlSeconds: number;
  /**
   * Largest serialised report; etcd refuses objects over 1.5 MiB and a failed write would loop.
   * Past it the report keeps its full summary and the most severe findings that fit.
   */
  maxReportBytes: number;
  /** Owner label keys copied onto every report (trivy-operator's `report.resourceLabels`). */
  resourceLabels?: readonly string[];
  /** Labels written on every report (trivy-operator's `report.additionalLabels`). */
  additionalLabels?: Readonly<Record<string, string>>;
}

/** The configurable labels of BuildSettings, as the metadata builders take them. */
export const labelOptions = (s: BuildSettings) => ({
  resourceLabelsToInclude: s.resourceLabels,
  additionalLabels: s.additionalLabels,
});

export const ownerOf = (o: Owner) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.name,
  namespace: o.namespace,
  uid: o.uid,
  labels: o.labels,
});

/**
 * The most severe findings whose JSON fits in `budget` bytes, in a stable
 * order (severity, then as trivy listed them).
 */
export function fitFindings<T extends { severity: string }>(items: readonly T[], budget: number): T[] {
  const sorted = items
    .map((v, i) => ({ v, i }))
    .sort((a, b) => severityRank(a.v.severity) - severityRank(b.v.severity) || a.i - b.i);
  const out: T[] = [];
  let used = 2;
  for (const { v } of sorted) {
    const size = Buffer.byteLength(JSON.stringify(v)) + 1;
    if (used + size > budget) break;
    used += size;
    out.push(v);
  }
  return out;
}

/**
 * The scan of a digest is stored once and shared by every reference to it (another registry, a
 * mirror, another tag), so the stored registry and artifact name whichever reference was scanned
 * first. A report names the reference its workload runs, as trivy-operator's do: registry,
 * repository and tag come from `image` (reportImageRef: a `repo:tag@sha256:…` keeps its tag); the
 * digest and what belongs to the image itself stay.
 */
export function forReference(data: ImageScanData, image: string): ImageScanData {
  const ref = reportImageRef(image);
  const { tag: _tag, repository: _repository, ...own } = data.artifact;
  const { tag, digest } = ref.artifact;
  return {
    ...data,
    registry: ref.registry,
    artifact: {
      ...own,
      repository: ref.artifact.repository,
      ...(tag !== undefined && { tag }),
      ...(own.digest === undefined && digest !== undefined && { digest }),
    },
  };
}

/**
 * `fields`: the additional vulnerability fields the report shows (trivy-operator's
 * additionalVulnerabilityReportFields, from the request's settings); the stored scan has them all.
 */
export function buildVulnerabilityReport(
  owner: Owner,
  container: string,
  data: ImageScanData,
  scanConfigHash: string,
  s: BuildSettings,
  fields: readonly AdditionalVulnerabilityField[] = [],
): VulnerabilityReport {
  const vulnerabilities = data.vulnerabilities.map((v) => withVulnerabilityFields(v, fields));
  const report = {
    updateTimestamp: data.scannedAt,
    scanner: data.scanner,
    registry: data.registry,
    artifact: data.artifact,
    os: data.os,
    summary: vulnerabilitySummary(vulnerabilities),
    vulnerabilities,
  };
  const meta = vulnerabilityReportMetadata({
    owner: ownerOf(owner),
    container,
    resourceSpecHash: owner.specHash,
    ttlSeconds: s.ttlSeconds,
    ...labelOptions(s),
  });
  const annotations: Record<string, string> = {
    ...meta.annotations,
    [ANNOTATION_SCAN_CONFIG_HASH]: scanConfigHash,
    [ANNOTATION_DB_UPDATED_AT]: data.dbUpdatedAt,
  };
  const obj: VulnerabilityReport = {
    apiVersion: API_VERSION,
    kind: VULNERABILITY_REPORT.kind,
    metadata: { ...stamp(meta, report, data.scannedAt, annotations), namespace: owner.namespace },
    report,
  };
  return fit(
    obj,
    vulnerabilities,
    (kept) => ({ ...obj, report: { ...report, vulnerabilities: kept } }),
    s.maxReportBytes,
  );
}

export function buildExposedSecretReport(
  owner: Owner,
  container: string,
  data: ImageScanData,
  s: BuildSettings,
): ExposedSecretReport {
  const secrets = data.secrets ?? [];
  // Secrets come from the analysis, not the DB: a re-match against a newer DB (same analysis, same
  // secrets) must find this report unchanged, not write all of them again.
  const at = data.analysedAt ?? data.scannedAt;
  const report = {
    updateTimestamp: at,
    scanner: data.scanner,
    registry: data.registry,
    artifact: data.artifact,
    summary: exposedSecretSummary(secrets),
    secrets,
  };
  const meta = exposedSecretReportMetadata({
    owner: ownerOf(owner),
    container,
    resourceSpecHash: owner.specHash,
    ...labelOptions(s),
  });
  const obj: ExposedSecretReport = {
    apiVersion: API_VERSION,
    kind: EXPOSED_SECRET_REPORT.kind,
    metadata: { ...stamp(meta, report, at), namespace: owner.namespace },
    report,
  };
  return fit(obj, secrets, (kept) => ({ ...obj, report: { ...report, secrets: kept } }), s.maxReportBytes);
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
    ...labelOptions(s),
  });
  const obj: ConfigAuditReport = {
    apiVersion: API_VERSION,
    kind: CONFIG_AUDIT_REPORT.kind,
    metadata: { ...stamp(meta, report, data.scannedAt), namespace: owner.namespace },
    report,
  };
  return fit(obj, data.checks, (kept) => ({ ...obj, report: { ...report, checks: kept } }), s.maxReportBytes);
}

/** Shrinks a report's finding list to fit `maxBytes`, recording how many were left out. */
export function fit<
  R extends { metadata: { annotations?: Record<string, string> } },
  T extends { severity: string },
>(obj: R, items: readonly T[], withItems: (kept: T[]) => R, maxBytes: number): R {
  const size = Buffer.byteLength(JSON.stringify(obj));
  if (size <= maxBytes) return obj;
  const itemsBytes = Buffer.byteLength(JSON.stringify(items));
  const kept = fitFindings(items, maxBytes - (size - itemsBytes) - 256);
  const out = withItems(kept);
  out.metadata.annotations = {
    ...out.metadata.annotations,
    [ANNOTATION_OMITTED_FINDINGS]: String(items.length - kept.length),
  };
  return out;
}

/**
 * The report's metadata with its content hash and scan time. The hash covers the findings (not
 * the time), the labels and, when given, fleetscan's annotations of the report. The time is also
 * where the report kinds without an updateTimestamp (RBAC and infra assessments) keep it.
 */
export function stamp<M extends { labels: Record<string, string>; annotations?: Record<string, string> }>(
  meta: M,
  report: object,
  scannedAt: string,
  annotations?: Record<string, string>,
): M & { annotations: Record<string, string> } {
  const body = { ...report, updateTimestamp: undefined };
  const contentHash = annotations ? hashOf(body, meta.labels, annotations) : hashOf(body, meta.labels);
  const digest = (report as { artifact?: { digest?: string } }).artifact?.digest;
  return {
    ...meta,
    annotations: {
      ...(annotations ?? meta.annotations),
      [ANNOTATION_CONTENT_HASH]: contentHash,
      // For watchers that read reports metadata-only (not part of the hash: the time is not content).
      [ANNOTATION_UPDATED_AT]: scannedAt,
      ...(digest && { [ANNOTATION_IMAGE_DIGEST]: digest }),
    },
  };
}

function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
