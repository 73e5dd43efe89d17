import type { ClusterComplianceReport } from '@fleetscan/reports';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * trivy-operator's `trivy_cluster_compliance{title,description,status}` (pkg/metrics/collector.go):
 * per ClusterComplianceReport, its status.summary's failCount and passCount as `status="Fail"` and
 * `status="Pass"`, 0 until a status is written; computed at scrape from the reports the compliance
 * loop last listed. Plus fleetscan's own counters of the loop.
 */
export function createComplianceMetrics(
  registry: Registry,
  reports: () => readonly ClusterComplianceReport[],
) {
  const registers = [registry];
  new Gauge({
    name: 'trivy_cluster_compliance',
    help: 'cluster compliance report',
    labelNames: ['title', 'description', 'status'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of reports()) {
        const c = r.spec.compliance;
        const s = r.status?.summary;
        this.set({ title: c.title, description: c.description, status: 'Fail' }, s?.failCount ?? 0);
        this.set({ title: c.title, description: c.description, status: 'Pass' }, s?.passCount ?? 0);
      }
    },
  });
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
