import type { ClusterComplianceReport } from '@fleetscan/reports';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Which compliance families are served, and the report labels they show (as the other trivy_* families). */
export interface ComplianceMetricOptions {
  /** trivy_compliance_info (trivy-operator's OPERATOR_METRICS_CLUSTER_COMPLIANCE_INFO_ENABLED). */
  info: boolean;
  /** REPORT_RESOURCE_LABELS, read from each report's own labels ... */
  labelKeys: readonly string[];
  /** ... shown as these label names (METRICS_RESOURCE_LABELS_PREFIX + the key in snake_case). */
  labelNames: readonly string[];
}

/**
 * trivy-operator's compliance families (pkg/metrics/collector.go), computed at scrape from the
 * reports the compliance loop last listed, with the report's resource labels last:
 * - `trivy_cluster_compliance{title,description,status}`: per ClusterComplianceReport, its
 *   status.summary's failCount and passCount as `status="Fail"` and `status="Pass"`, 0 until a
 *   status is written;
 * - `trivy_compliance_info{title,description,compliance_id,compliance_name,status,severity}` (opt-in):
 *   per control of a summary-format report's summaryReport, its totalFail as `Fail` when above 0,
 *   else 1 as `Pass`; controls without a totalFail (manual) and `all`-format reports are left out,
 *   as upstream leaves them.
 * Plus fleetscan's own counters of the loop.
 */
export function createComplianceMetrics(
  registry: Registry,
  reports: () => readonly ClusterComplianceReport[],
  opts: ComplianceMetricOptions = { info: false, labelKeys: [], labelNames: [] },
) {
  const registers = [registry];
  const resourceLabels = (r: ClusterComplianceReport) =>
    Object.fromEntries(
      opts.labelNames.map((name, i) => [name, r.metadata.labels?.[opts.labelKeys[i] ?? ''] ?? '']),
    );
  new Gauge({
    name: 'trivy_cluster_compliance',
    help: 'cluster compliance report',
    labelNames: ['title', 'description', 'status', ...opts.labelNames],
    registers,
    collect() {
      this.reset();
      for (const r of reports()) {
        const c = r.spec.compliance;
        const s = r.status?.summary;
        const own = resourceLabels(r);
        this.set({ title: c.title, description: c.description, status: 'Fail', ...own }, s?.failCount ?? 0);
        this.set({ title: c.title, description: c.description, status: 'Pass', ...own }, s?.passCount ?? 0);
      }
    },
  });
  if (opts.info) {
    new Gauge({
      name: 'trivy_compliance_info',
      help: 'cluster compliance report Info',
      labelNames: [
        'title',
        'description',
        'compliance_id',
        'compliance_name',
        'status',
        'severity',
        ...opts.labelNames,
      ],
      registers,
      collect() {
        this.reset();
        for (const r of reports()) {
          if (r.spec.reportType === 'all') continue;
          const c = r.spec.compliance;
          const own = resourceLabels(r);
          for (const control of r.status?.summaryReport?.controlCheck ?? []) {
            if (control.totalFail === undefined || control.totalFail === null) continue;
            const failed = control.totalFail > 0;
            this.set(
              {
                title: c.title,
                description: c.description,
                compliance_id: control.id ?? '',
                compliance_name: control.name ?? '',
                status: failed ? 'Fail' : 'Pass',
                severity: control.severity ?? '',
                ...own,
              },
              failed ? control.totalFail : 1,
            );
          }
        }
      },
    });
  }
  return {
    runs: new Counter({
      name: 'fleetscan_writer_compliance_runs_total',
      help: 'ClusterComplianceReport evaluations by outcome: written; conflict (changed meanwhile, done again in the next pass); invalid (a report whose spec or cron cannot be read, skipped); failed (a pass that failed, retried with backoff).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    nodeControlsUnevaluated: new Gauge({
      name: 'fleetscan_writer_compliance_node_controls_unevaluated',
      help: 'Controls of a ClusterComplianceReport that read node data (node-collector commands) while no node report exists: shown without failures, as trivy-operator shows them, but not checked.',
      labelNames: ['name'] as const,
      registers,
    }),
  };
}
export type ComplianceMetrics = ReturnType<typeof createComplianceMetrics>;
