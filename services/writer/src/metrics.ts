import { createConsumeMetrics } from '@fleetscan/bus';
import type { Inventory, ReportRef } from '@fleetscan/inventory';
import { Counter, Gauge, type Registry } from 'prom-client';

export function createWriterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    reports: new Counter({
      name: 'fleetscan_writer_reports_total',
      help: 'Report writes by kind and outcome: written; adopted (a report another tool such as trivy-operator wrote, replaced as a whole); unchanged or older (a scan older than the report), skipped; dropped (namespace gone); conflict or failed, retried.',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    results: new Counter({
      name: 'fleetscan_writer_results_total',
      help: 'Results consumed by type and outcome: applied, dropped_owner_gone, dropped_stale, no_owner, error_result, invalid; late_owner: a remembered image result written for an owner seen after its fan-out.',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'fleetscan_writer_failures_total',
      help: 'Failures by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    lag: new Gauge({
      name: 'fleetscan_writer_consumer_pending',
      help: "Results waiting in this writer's consumer (stream lag).",
      registers,
    }),
    /** consume()'s counters for the writer's results consumer. */
    consume: createConsumeMetrics(registry),
  };
}
export type WriterMetrics = ReturnType<typeof createWriterMetrics>;

const SEVERITY_LABEL = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  unknown: 'Unknown',
} as const;

/**
 * trivy-operator's report metrics, computed at scrape from the reports the
 * inventory watches: one series per report and severity (bounded by the
 * number of reports), and a scrape never fails whatever a report contains.
 */
export function registerReportMetrics(registry: Registry, inventory: Pick<Inventory, 'reports'>): void {
  const vulnLabels = [
    'namespace',
    'name',
    'resource_kind',
    'resource_name',
    'container_name',
    'image_registry',
    'image_repository',
    'image_tag',
    'image_digest',
    'severity',
  ] as const;
  new Gauge({
    name: 'trivy_image_vulnerabilities',
    help: 'Number of container image vulnerabilities',
    labelNames: vulnLabels,
    registers: [registry],
    collect() {
      this.reset();
      // A scrape must never fail, whatever a report holds.
      for (const r of safeReports(inventory)) {
        if (r.kind !== 'VulnerabilityReport' || !r.summary) continue;
        for (const [sev, label] of Object.entries(SEVERITY_LABEL)) {
          this.set(
            {
              namespace: r.namespace,
              name: r.name,
              resource_kind: r.resourceKind ?? '',
              resource_name: r.resourceName ?? '',
              container_name: r.container ?? '',
              image_registry: r.artifact?.registry ?? '',
              image_repository: r.artifact?.repository ?? '',
              image_tag: r.artifact?.tag ?? '',
              image_digest: r.artifact?.digest ?? '',
              severity: label,
            },
            count(r, sev),
          );
        }
      }
    },
  });
  new Gauge({
    name: 'trivy_resource_configaudits',
    help: 'Number of failing resource configuration auditing checks',
    labelNames: ['namespace', 'name', 'resource_kind', 'resource_name', 'severity'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of safeReports(inventory)) {
        if (r.kind !== 'ConfigAuditReport' || !r.summary) continue;
        for (const [sev, label] of Object.entries(SEVERITY_LABEL)) {
          if (sev === 'unknown') continue;
          this.set(
            {
              namespace: r.namespace,
              name: r.name,
              resource_kind: r.resourceKind ?? '',
              resource_name: r.resourceName ?? '',
              severity: label,
            },
            count(r, sev),
          );
        }
      }
    },
  });
}

function safeReports(inventory: Pick<Inventory, 'reports'>): ReportRef[] {
  try {
    return inventory.reports();
  } catch {
    return [];
  }
}

function count(r: ReportRef, sev: string): number {
  const v = r.summary?.[`${sev}Count`];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
