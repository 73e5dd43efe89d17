import type { ConfigAuditData } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  API_VERSION,
  type AssessmentReportData,
  type AuditReportKind,
  assessmentSummary,
  type Check,
  CLUSTER_RBAC_ASSESSMENT_REPORT,
  type ClusterConfigAuditReport,
  type ClusterRbacAssessmentReport,
  type ConfigAuditReport,
  configAuditReportMetadata,
  configAuditSummary,
  INFRA_ASSESSMENT_REPORT,
  type InfraAssessmentReport,
  infraAssessmentReportMetadata,
  partitionInfraChecks,
  RBAC_ASSESSMENT_REPORT,
  type RbacAssessmentReport,
  type ReportMetadata,
  rbacAssessmentReportMetadata,
} from '@fleetscan/reports';
import { type BuildSettings, fit, labelOptions, ownerOf, stamp } from './build.ts';
import type { WritableReport } from './write-queue.ts';

/** One report a config audit makes for its owner. */
export interface AuditReport {
  kind: AuditReportKind;
  report: WritableReport;
}

/**
 * The reports one config audit of an owner makes (pure): each of `kinds` — the request's, which the
 * watcher chose by trivy-operator's rules (@fleetscan/reports auditReports) — from the audit's
 * checks split as trivy-operator splits them: infra (KCV) checks to the InfraAssessmentReport,
 * the others to the config audit or RBAC assessment. A cluster-scoped owner's reports have no
 * namespace and no TTL; RBAC and infra assessments carry their scan time in fleetscan's
 * updated-at annotation only (their CRDs have no updateTimestamp).
 */
export function buildAuditReports(
  owner: Owner,
  data: ConfigAuditData,
  kinds: readonly AuditReportKind[],
  pluginConfigHash: string,
  s: BuildSettings,
): AuditReport[] {
  const { audit, infra } = partitionInfraChecks(data.checks);
  const metaOpts = {
    owner: ownerOf(owner),
    resourceSpecHash: owner.specHash,
    pluginConfigHash,
    ttlSeconds: s.ttlSeconds,
    ...labelOptions(s),
  };
  const assessment = (checks: Check[]): AssessmentReportData => ({
    scanner: data.scanner,
    summary: assessmentSummary(checks),
    checks,
  });
  const build = (kind: AuditReportKind): Built => {
    const make = (meta: ReportMetadata, report: Built['report']) =>
      shrink(withMeta(kind, meta, report, data.scannedAt, owner), s);
    if (kind === INFRA_ASSESSMENT_REPORT.kind)
      return make(infraAssessmentReportMetadata(metaOpts), assessment(infra));
    if (kind === RBAC_ASSESSMENT_REPORT.kind || kind === CLUSTER_RBAC_ASSESSMENT_REPORT.kind)
      return make(rbacAssessmentReportMetadata(metaOpts), assessment(audit));
    const report = {
      updateTimestamp: data.scannedAt,
      scanner: data.scanner,
      summary: configAuditSummary(audit),
      checks: audit,
    };
    return make(configAuditReportMetadata(metaOpts), report);
  };
  return kinds.map((kind) => ({ kind, report: build(kind) }));
}

type Built =
  | ConfigAuditReport
  | ClusterConfigAuditReport
  | RbacAssessmentReport
  | ClusterRbacAssessmentReport
  | InfraAssessmentReport;

function withMeta(
  kind: AuditReportKind,
  meta: ReportMetadata,
  report: Built['report'],
  scannedAt: string,
  owner: Owner,
): Built {
  const metadata = stamp(meta, report, scannedAt);
  // Namespaced kinds carry the owner's namespace (from the metadata builder); cluster kinds none.
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: owner.namespace ? { ...metadata, namespace: owner.namespace } : metadata,
    report,
  } as Built;
}

function shrink(obj: Built, s: BuildSettings): Built {
  const checks = obj.report.checks;
  return fit(
    obj,
    checks,
    (kept) => ({ ...obj, report: { ...obj.report, checks: kept } }) as Built,
    s.maxReportBytes,
  );
}
