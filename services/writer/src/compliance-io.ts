import { createTransport, type KubeConnection, type KubeObject, listAll } from '@fleetscan/kube';
import {
  type Check,
  CLUSTER_COMPLIANCE_REPORT,
  type ComplianceStatus,
  GROUP,
  REPORT_RESOURCES,
  type ReportChecks,
  SEVERITIES,
  type Severity,
  VERSION,
} from '@fleetscan/reports';

/**
 * The report kinds a compliance spec is evaluated on: trivy-operator's five (pkg/compliance/io.go)
 * and ClusterConfigAuditReports. ClusterInfraAssessmentReports are the node checks: none are written
 * until a node collector exists (docs/ARCHITECTURE.md).
 */
export const COMPLIANCE_INPUT_KINDS = [
  'ConfigAuditReport',
  'ClusterConfigAuditReport',
  'RbacAssessmentReport',
  'ClusterRbacAssessmentReport',
  'InfraAssessmentReport',
  'ClusterInfraAssessmentReport',
] as const satisfies readonly (keyof typeof REPORT_RESOURCES)[];

/** A ClusterComplianceReport as listed: the object, kept whole so its status can be written back. */
export type ComplianceObject = KubeObject & { spec?: unknown; status?: unknown };

export interface ComplianceIo {
  listSpecs(signal: AbortSignal): Promise<ComplianceObject[]>;
  /** Every report of the input kinds, one at a time, page by page (nothing but `onReport` keeps them). */
  forEachReport(onReport: (r: ReportChecks) => void, signal: AbortSignal): Promise<void>;
  /** Replaces the status (status subresource, optimistic: a changed object is a CONFLICT KubeError). */
  writeStatus(obj: ComplianceObject, status: ComplianceStatus, signal: AbortSignal): Promise<void>;
}

const base = `/apis/${GROUP}/${VERSION}`;
const PAGE = { pageSize: 100, pageTimeoutMs: 60_000 };

export function createComplianceIo(kc: KubeConnection): ComplianceIo {
  const kube = createTransport(kc);
  return {
    async listSpecs(signal) {
      const out: ComplianceObject[] = [];
      await listAll(kube, `${base}/${CLUSTER_COMPLIANCE_REPORT.plural}`, {
        ...PAGE,
        signal,
        onItem: (o) => out.push(o),
      });
      return out;
    },
    async forEachReport(onReport, signal) {
      for (const kind of COMPLIANCE_INPUT_KINDS) {
        await listAll(kube, `${base}/${REPORT_RESOURCES[kind].plural}`, {
          ...PAGE,
          signal,
          onItem: (o) => onReport(reportChecksOf(kind, o)),
        });
      }
    },
    async writeStatus(obj, status, signal) {
      const name = obj.metadata?.name ?? '';
      await kube.request(
        {
          method: 'PUT',
          path: `${base}/${CLUSTER_COMPLIANCE_REPORT.plural}/${encodeURIComponent(name)}/status`,
          body: { ...obj, apiVersion: `${GROUP}/${VERSION}`, kind: CLUSTER_COMPLIANCE_REPORT.kind, status },
        },
        signal,
      );
    },
  };
}

/**
 * A listed report's checks, taken as they are: whatever wrote the report (fleetscan, trivy-operator
 * before it), a check without a string id or a boolean success is skipped, not trusted.
 */
export function reportChecksOf(kind: string, obj: KubeObject): ReportChecks {
  const raw = (obj as { report?: { checks?: unknown } }).report?.checks;
  const checks: Check[] = [];
  for (const c of Array.isArray(raw) ? raw : []) {
    if (!c || typeof c !== 'object') continue;
    const r = c as Record<string, unknown>;
    if (typeof r.checkID !== 'string' || typeof r.success !== 'boolean') continue;
    checks.push({
      checkID: r.checkID,
      severity: SEVERITIES.includes(r.severity as Severity) ? (r.severity as Severity) : 'UNKNOWN',
      success: r.success,
      ...(typeof r.title === 'string' && { title: r.title }),
      ...(typeof r.description === 'string' && { description: r.description }),
      ...(typeof r.remediation === 'string' && { remediation: r.remediation }),
      ...(Array.isArray(r.messages) && { messages: r.messages.filter((m) => typeof m === 'string') }),
    });
  }
  return { kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', checks };
}
