import type { KubeObject } from '@fleetscan/kube';
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_DB_UPDATED_AT,
  ANNOTATION_IMAGE_DIGEST,
  ANNOTATION_REPORT_TTL,
  ANNOTATION_SCAN_CONFIG_HASH,
  ANNOTATION_SCAN_ERROR,
  ANNOTATION_UPDATED_AT,
  LABEL_CONTAINER_NAME,
  LABEL_K8S_APP_MANAGED_BY,
  LABEL_PLUGIN_CONFIG_HASH,
  LABEL_RESOURCE_KIND,
  LABEL_RESOURCE_NAME,
  LABEL_RESOURCE_SPEC_HASH,
  type OwnerReportKind,
  parseGoDuration,
} from '@fleetscan/reports';
import type { ReportDetail, ReportDetailProjector } from './report-detail.ts';

/** What is kept of an existing report: enough to decide whether it is current. */
export interface ReportRef {
  kind: OwnerReportKind;
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
  /** The app.kubernetes.io/managed-by label. */
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
  /** Labels, findings and OS, only when the inventory was asked for them (report-detail.ts). */
  detail?: ReportDetail;
}

/** `detail`: what to keep beyond the summary (report-detail.ts); none by default. */
export function reportProjector(kind: OwnerReportKind, detail?: ReportDetailProjector) {
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
    setIf(r, 'managedBy', labels[LABEL_K8S_APP_MANAGED_BY]);
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
    if (detail) {
      const d = detail(kind, labels, report as Record<string, unknown> | undefined);
      if (d) r.detail = d;
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
