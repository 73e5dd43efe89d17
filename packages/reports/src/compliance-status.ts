/**
 * A ClusterComplianceReport's status from the cluster's audit reports: pure, no I/O. trivy-operator
 * (pkg/compliance/io.go, with trivy's pkg/compliance/report and its v1alpha1 From*Report mappers)
 * turns every check of every report into a trivy result, maps the results to controls by check id
 * and counts them. The same here, in two steps so that a caller can stream reports page by page:
 * `indexFailures` keeps, per check id a spec asks about, how many reports' checks failed and the
 * first few of them; `complianceStatus` turns that into the status for one spec.
 *
 * Where fleetscan differs from upstream, on purpose:
 * - Only failed checks count. Upstream maps passed checks too, so with
 *   `report.recordFailedChecksOnly: false` a passed check makes its control fail.
 * - Check ids are matched in one normal form (`normalizeCheckId`): upstream compares exactly, and its
 *   chart writes some controls' ids in lower case, which then never match.
 * - The detail report keeps at most `failEntriesLimit` failures per control (trivy-operator's
 *   `compliance.failEntriesLimit`, which upstream reads but never applies: a large cluster's detail
 *   report outgrows what the API server stores).
 * - ClusterConfigAuditReports are read as well (upstream reads the other five kinds only).
 * - Messages are the check's own (upstream repeats the description there).
 */
import {
  type ComplianceCheck,
  type ComplianceReportSpec,
  type ComplianceStatus,
  type ControlCheckResult,
  normalizeCheckId,
} from './compliance.ts';
import type { Check } from './schemas.ts';

/** The checks of one audit report, wherever they come from. */
export interface ReportChecks {
  kind: string;
  /** '' for a cluster-scoped report. */
  namespace: string;
  name: string;
  checks: readonly Check[];
}

/**
 * Node checks (the seam for a node collector): trivy-operator's ClusterInfraAssessmentReports,
 * one per Node, from node-collector's output. The local stack has no kubelet, so fleetscan writes
 * none yet; a node collector only has to produce these (see docs/ARCHITECTURE.md).
 */
export interface NodeInfraResult extends ReportChecks {
  kind: 'ClusterInfraAssessmentReport';
}

interface Failure {
  check: Check;
  /** `<namespace>/<report name>`, as upstream's result Target. */
  target: string;
}

export interface FailureIndex {
  readonly sampleLimit: number;
  /** Failed checks per normalized check id. */
  readonly counts: Map<string, number>;
  /** The first `sampleLimit` failures per normalized check id. */
  readonly samples: Map<string, Failure[]>;
  /** How many node reports were seen: none means node-only controls were not evaluated. */
  nodeReports: number;
}

/** The check ids of these specs, normalized: what an index needs to keep. */
export function specCheckIds(specs: readonly ComplianceReportSpec[]): Set<string> {
  const ids = new Set<string>();
  for (const s of specs)
    for (const c of s.compliance.controls) for (const k of c.checks ?? []) ids.add(normalizeCheckId(k.id));
  return ids;
}

export function createFailureIndex(sampleLimit: number): FailureIndex {
  return { sampleLimit, counts: new Map(), samples: new Map(), nodeReports: 0 };
}

/** Adds one report's failed checks among `wanted` (normalized ids) to the index. */
export function indexFailures(index: FailureIndex, report: ReportChecks, wanted: ReadonlySet<string>): void {
  if (report.kind === 'ClusterInfraAssessmentReport') index.nodeReports++;
  for (const check of report.checks) {
    if (check.success) continue;
    const id = normalizeCheckId(check.checkID);
    if (!wanted.has(id)) continue;
    index.counts.set(id, (index.counts.get(id) ?? 0) + 1);
    const samples = index.samples.get(id) ?? [];
    if (samples.length < index.sampleLimit) {
      samples.push({ check, target: `${report.namespace}/${report.name}` });
      index.samples.set(id, samples);
    }
  }
}

export interface ComplianceOutcome {
  status: ComplianceStatus;
  /**
   * Controls evaluated from node data (they list node-collector commands) while no node report
   * exists: they show as upstream shows them then, without failures, but nothing was checked.
   */
  nodeControlsUnevaluated: string[];
}

/** The status of one spec: `updateTimestamp` is when it was computed (RFC 3339). */
export function complianceStatus(
  spec: ComplianceReportSpec,
  index: FailureIndex,
  updateTimestamp: string,
): ComplianceOutcome {
  const c = spec.compliance;
  let failCount = 0;
  let passCount = 0;
  const nodeControlsUnevaluated: string[] = [];
  const controls = c.controls.map((control) => {
    const ids = [...new Set((control.checks ?? []).map((k) => normalizeCheckId(k.id)))];
    const total = ids.reduce((n, id) => n + (index.counts.get(id) ?? 0), 0);
    if (total > 0) failCount++;
    else passCount++;
    if ((control.commands?.length ?? 0) > 0 && index.nodeReports === 0)
      nodeControlsUnevaluated.push(control.id);
    const failures = ids.flatMap((id) => index.samples.get(id) ?? []).slice(0, index.sampleLimit);
    return { control, total, failures };
  });
  const summary = {
    ...(failCount > 0 && { failCount }),
    ...(passCount > 0 && { passCount }),
  };
  const status: ComplianceStatus = { summary, updateTimestamp };
  if (spec.reportType === 'summary') {
    status.summaryReport = {
      ...(c.id && { id: c.id }),
      ...(c.title && { title: c.title }),
      controlCheck: controls.map(({ control, total }) => ({
        ...(control.id && { id: control.id }),
        ...(control.name && { name: control.name }),
        ...(control.severity && { severity: control.severity }),
        // trivy's BuildSummary: a manual control has no count.
        ...(!control.name.includes('Manual') && { totalFail: total }),
      })),
    };
  } else {
    status.detailReport = {
      ...(c.id && { id: c.id }),
      ...(c.title && { title: c.title }),
      ...(c.description && { description: c.description }),
      ...(c.version && { version: c.version }),
      ...(c.relatedResources.length > 0 && { relatedVersion: [...c.relatedResources] }),
      results: controls.map(({ control, failures }): ControlCheckResult => {
        const checks: ComplianceCheck[] = failures.map(({ check, target }) => ({
          checkID: check.checkID,
          target,
          ...(check.title && { title: check.title }),
          ...(check.description && { description: check.description }),
          severity: check.severity,
          category: 'Kubernetes Security Check',
          ...(check.messages?.length && { messages: [...check.messages] }),
          ...(check.remediation && { remediation: check.remediation }),
          success: false,
        }));
        return {
          ...(control.id && { id: control.id }),
          ...(control.name && { name: control.name }),
          ...(control.description && { description: control.description }),
          ...(control.defaultStatus && { status: control.defaultStatus }),
          ...(control.severity && { severity: control.severity }),
          // Upstream's FromDetailReport marks a control without failures with one empty passed check.
          checks: checks.length > 0 ? checks : [{ checkID: '', severity: '', success: true }],
        };
      }),
    };
  }
  return { status, nodeControlsUnevaluated };
}
