import type { KubeObject } from '@fleetscan/kube';
import {
  ANNOTATION_REPORT_TTL,
  type CONFIG_AUDIT_REPORT,
  type EXPOSED_SECRET_REPORT,
  LABEL_CONTAINER_NAME,
  LABEL_PLUGIN_CONFIG_HASH,
  LABEL_RESOURCE_KIND,
  LABEL_RESOURCE_NAME,
  LABEL_RESOURCE_SPEC_HASH,
  parseGoDuration,
  type VULNERABILITY_REPORT,
} from '@fleetscan/reports';

/** fleetscan's own annotation: hash of a report's findings, so an unchanged rewrite is skipped. */
export const ANNOTATION_CONTENT_HASH = 'fleetscan.io/content-hash';
/** The scan settings hash a vulnerability report was produced with. */
export const ANNOTATION_SCAN_CONFIG_HASH = 'fleetscan.io/scan-config-hash';
/** The trivy DB version (metadata UpdatedAt) a vulnerability report was matched against. */
export const ANNOTATION_DB_UPDATED_AT = 'fleetscan.io/db-updated-at';
/** Set when the scan failed permanently (e.g. `UNAUTHORIZED: …`); the report then carries no findings. */
export const ANNOTATION_SCAN_ERROR = 'fleetscan.io/scan-error';
/**
 * report.updateTimestamp and, for vulnerability reports, report.artifact.digest, copied into
 * metadata: a watcher that lists reports metadata-only (PartialObjectMetadata) still knows when a
 * report expires and which digest it describes, without receiving every finding of every report.
 */
export const ANNOTATION_UPDATED_AT = 'fleetscan.io/updated-at';
export const ANNOTATION_IMAGE_DIGEST = 'fleetscan.io/image-digest';
/** How many findings were left out so the report fits the API server's size limit. */
export const ANNOTATION_OMITTED_FINDINGS = 'fleetscan.io/omitted-findings';

export type ReportKind =
  | typeof VULNERABILITY_REPORT.kind
  | typeof CONFIG_AUDIT_REPORT.kind
  | typeof EXPOSED_SECRET_REPORT.kind;

/** What is kept of an existing report: enough to decide whether it is current. */
export interface ReportRef {
  kind: ReportKind;
  namespace: string;
  name: string;
  uid: string;
  /** uid of the controller ownerReference. */
  ownerUid?: string;
  specHash?: string;
  pluginConfigHash?: string;
  scanConfigHash?: string;
  container?: string;
  contentHash?: string;
  /** metadata.labels['app.kubernetes.io/managed-by']. */
  managedBy?: string;
  resourceKind?: string;
  resourceName?: string;
  /** report.summary counts only (criticalCount, …): what the report metrics need. */
  summary?: Readonly<Record<string, number>>;
  /** report.updateTimestamp in ms since the epoch. */
  updatedAtMs?: number;
  /** The report-ttl annotation, in seconds. */
  ttlSeconds?: number;
  dbUpdatedAt?: string;
  scanError?: string;
  /** Vulnerability reports: where the image came from. */
  artifact?: { registry: string; repository: string; tag: string; digest: string };
}

export function reportProjector(kind: ReportKind) {
  return (obj: KubeObject): ReportRef | undefined => {
    const m = obj.metadata;
    if (!m?.name || !m.uid) return undefined;
    const labels = m.labels ?? {};
    const ann = m.annotations ?? {};
    const r: ReportRef = { kind, namespace: m.namespace ?? '', name: m.name, uid: m.uid };
    const owner = m.ownerReferences?.find((o) => o.controller);
    if (owner) r.ownerUid = owner.uid;
    setIf(r, 'specHash', labels[LABEL_RESOURCE_SPEC_HASH]);
    setIf(r, 'pluginConfigHash', labels[LABEL_PLUGIN_CONFIG_HASH]);
    setIf(r, 'container', labels[LABEL_CONTAINER_NAME]);
    setIf(r, 'managedBy', labels['app.kubernetes.io/managed-by']);
    setIf(r, 'contentHash', ann[ANNOTATION_CONTENT_HASH]);
    setIf(r, 'scanConfigHash', ann[ANNOTATION_SCAN_CONFIG_HASH]);
    setIf(r, 'dbUpdatedAt', ann[ANNOTATION_DB_UPDATED_AT]);
    setIf(r, 'scanError', ann[ANNOTATION_SCAN_ERROR]);
    const ttl = ann[ANNOTATION_REPORT_TTL];
    if (ttl) {
      try {
        r.ttlSeconds = parseGoDuration(ttl);
      } catch {
        // an unreadable TTL is treated as none
      }
    }
    setIf(r, 'resourceKind', labels[LABEL_RESOURCE_KIND]);
    setIf(r, 'resourceName', labels[LABEL_RESOURCE_NAME] ?? ann[LABEL_RESOURCE_NAME]);
    const report = (obj as { report?: ReportBody }).report;
    // Our annotation, else the body (a full object), else when it was created: trivy-operator
    // replaces a report when it rescans, so that is its scan time (its own TTL reads it too).
    const created = (m as { creationTimestamp?: unknown }).creationTimestamp;
    const updated = [ann[ANNOTATION_UPDATED_AT], report?.updateTimestamp, created]
      .map((t) => (typeof t === 'string' ? Date.parse(t) : Number.NaN))
      .find((t) => Number.isFinite(t));
    if (updated !== undefined) r.updatedAtMs = updated;
    if (report?.summary && typeof report.summary === 'object') r.summary = counts(report.summary);
    if (report?.artifact) {
      r.artifact = {
        registry: str(report.registry?.server),
        repository: str(report.artifact.repository),
        tag: str(report.artifact.tag),
        digest: str(report.artifact.digest),
      };
    } else if (ann[ANNOTATION_IMAGE_DIGEST]) {
      r.artifact = { registry: '', repository: '', tag: '', digest: ann[ANNOTATION_IMAGE_DIGEST] };
    }
    return r;
  };
}

interface ReportBody {
  updateTimestamp?: unknown;
  summary?: Record<string, unknown>;
  artifact?: { repository?: unknown; tag?: unknown; digest?: unknown };
  registry?: { server?: unknown };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Only numeric *Count fields: a report with odd content must not break metrics. */
function counts(summary: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(summary)) if (k.endsWith('Count') && typeof v === 'number') out[k] = v;
  return out;
}

function setIf<K extends keyof ReportRef>(r: ReportRef, k: K, v: ReportRef[K] | undefined): void {
  if (v !== undefined && v !== '') r[k] = v;
}
