/**
 * ClusterComplianceReport: a compliance spec (spec.compliance: controls and the check ids each one
 * maps to), its schedule (spec.cron) and form (spec.reportType), and the status computed from the
 * cluster's audit reports. Field names and JSON tags follow trivy-operator's
 * pkg/apis/aquasecurity/v1alpha1/compliance_types.go; deploy/crds holds the CRD (as its
 * deploy/static/trivy-operator.yaml ships it, controller-gen v0.18), checked against these schemas by
 * compliance-crd.test.ts. Unlike the report kinds, it has spec and status, no `report`: it is not an
 * owner's report and is not in REPORT_RESOURCES.
 */
import { z } from 'zod';
import { API_VERSION, reportResource } from './resources.ts';
import { ObjectMetaSchema, SeveritySchema, TimestampSchema } from './schemas.ts';

export const CLUSTER_COMPLIANCE_REPORT = reportResource('ClusterComplianceReport', 'Cluster', ['compliance']);

/** trivy-operator's ControlStatus. */
export const CONTROL_STATUSES = ['PASS', 'WARN', 'FAIL'] as const;

const IdSchema = z.object({ id: z.string() });

export const ComplianceControlSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  checks: z.array(IdSchema).optional(),
  /** node-collector commands: a control that lists them is evaluated from node data. */
  commands: z.array(IdSchema).optional(),
  severity: SeveritySchema,
  defaultStatus: z.enum(CONTROL_STATUSES).optional(),
});
export type ComplianceControl = z.infer<typeof ComplianceControlSchema>;

export const ComplianceSpecSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  version: z.string(),
  relatedResources: z.array(z.string()),
  platform: z.string(),
  type: z.string(),
  controls: z.array(ComplianceControlSchema),
});
export type ComplianceSpec = z.infer<typeof ComplianceSpecSchema>;

export const REPORT_TYPES = ['summary', 'all'] as const;
export type ComplianceReportType = (typeof REPORT_TYPES)[number];

export const ComplianceReportSpecSchema = z.object({
  cron: z.string(),
  reportType: z.enum(REPORT_TYPES),
  compliance: ComplianceSpecSchema,
});
export type ComplianceReportSpec = z.infer<typeof ComplianceReportSpecSchema>;

/** One failed check of one report, as the detail report lists it (ComplianceCheck). */
export const ComplianceCheckSchema = z.object({
  checkID: z.string(),
  /** `<namespace>/<report name>`, as trivy-operator writes it (`/<name>` for a cluster report). */
  target: z.string().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  severity: z.string(),
  category: z.string().optional(),
  messages: z.array(z.string()).optional(),
  remediation: z.string().optional(),
  success: z.boolean(),
});
export type ComplianceCheck = z.infer<typeof ComplianceCheckSchema>;

export const ControlCheckResultSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  /** The control's defaultStatus (Go field DefaultStatus, JSON `status`). */
  status: z.string().optional(),
  severity: z.string().optional(),
  checks: z.array(ComplianceCheckSchema),
});
export type ControlCheckResult = z.infer<typeof ControlCheckResultSchema>;

export const ComplianceDetailReportSchema = z.object({
  id: z.string().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  version: z.string().optional(),
  /** Upstream's JSON tag for RelatedResources. */
  relatedVersion: z.array(z.string()).optional(),
  results: z.array(ControlCheckResultSchema).optional(),
});
export type ComplianceDetailReport = z.infer<typeof ComplianceDetailReportSchema>;

export const ControlCheckSummarySchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  severity: z.string().optional(),
  /** Absent for a manual control (its name says "Manual"): nothing to count. */
  totalFail: z.int().min(0).optional(),
});
export type ControlCheckSummary = z.infer<typeof ControlCheckSummarySchema>;

export const ComplianceSummaryReportSchema = z.object({
  id: z.string().optional(),
  title: z.string().optional(),
  controlCheck: z.array(ControlCheckSummarySchema).optional(),
});
export type ComplianceSummaryReport = z.infer<typeof ComplianceSummaryReportSchema>;

export const ComplianceStatusSchema = z.object({
  /** omitempty in Go: a zero count is left out. */
  summary: z
    .object({ failCount: z.int().min(0).optional(), passCount: z.int().min(0).optional() })
    .optional(),
  updateTimestamp: TimestampSchema,
  detailReport: ComplianceDetailReportSchema.optional(),
  summaryReport: ComplianceSummaryReportSchema.optional(),
});
export type ComplianceStatus = z.infer<typeof ComplianceStatusSchema>;

export const ClusterComplianceReportSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(CLUSTER_COMPLIANCE_REPORT.kind),
  metadata: ObjectMetaSchema,
  spec: ComplianceReportSpecSchema,
  status: ComplianceStatusSchema.optional(),
});
export type ClusterComplianceReport = z.infer<typeof ClusterComplianceReportSchema>;

/**
 * One form for a check id, however it is written: trivy's current `KSV-0017`, trivy-operator's
 * `AVD-KSV-0017` (its chart also has `avd-ksv-0024`), fleetscan's short `KSV017` or the old
 * `KSV0125`. Letters upper-cased, the number without leading zeros: `KSV-17`. An id of another
 * shape is only upper-cased. Upstream compares ids exactly, so its chart's lower-case ids never
 * match a check (those controls always pass there); fleetscan matches them.
 */
export function normalizeCheckId(id: string): string {
  const upper = id.trim().toUpperCase();
  const m = /^(?:AVD-)?([A-Z]+)-?(\d+)$/.exec(upper);
  if (!m) return upper;
  return `${m[1]}-${Number(m[2])}`;
}
