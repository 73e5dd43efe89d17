import { createConsumeMetrics } from '@fleetscan/bus';
import type { ReportDetailOptions } from '@fleetscan/inventory';
import { Counter, Gauge, type Registry } from 'prom-client';
import { configAuditFamilies } from './report-metrics/config-audit.ts';
import { exposedSecretFamilies } from './report-metrics/exposed-secret.ts';
import { familyMetric, type InfoOption, type ReportFamily } from './report-metrics/family.ts';
import { infraAssessmentFamilies } from './report-metrics/infra-assessment.ts';
import { rbacAssessmentFamilies } from './report-metrics/rbac-assessment.ts';
import type { ReportSource } from './report-metrics/source.ts';
import { vulnerabilityFamilies } from './report-metrics/vulnerability.ts';

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
      help: 'Results consumed by type and outcome: applied, dropped_owner_gone, dropped_stale, no_owner, error_result (a failed scan: recorded, no report), invalid; late_owner: a remembered image result written for an owner seen after its fan-out.',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'fleetscan_writer_failures_total',
      help: 'Failures by reason: apply, delete, reconcile; event (a ScanFailed Event not written); invalid_report (a report the API server refused as invalid: not retried, the other reports of its result are written and the result is terminated); scan_failure_record (a failure record not written or removed: the result is retried); failures_read (a read of the scan failures bucket failed: read again with backoff); sbom_missing or sbom_invalid, a stored SBOM gone or not CycloneDX (that result writes no SbomReports).',
      labelNames: ['reason'] as const,
      registers,
    }),
    reprovisions: new Counter({
      name: 'fleetscan_writer_reprovisions_total',
      help: "Times the writer found one of its cluster's resources gone after start (deleted by an operator) and asked the scanners to provision it again, by the resource found missing: consumer (its results consumer), failures (the scan failures bucket). One per episode.",
      labelNames: ['resource'] as const,
      registers,
    }),
    scanFailures: new Counter({
      name: 'fleetscan_writer_scan_failures_total',
      help: "Image scans that failed, one per failed round of an image (requests in flight together are one round), by namespace and reason (the scanner's error code: NOT_FOUND, UNAUTHORIZED, TIMEOUT, …). No report is written for a failed scan.",
      labelNames: ['namespace', 'reason'] as const,
      registers,
    }),
    bulkLimit: new Gauge({
      name: 'fleetscan_writer_bulk_writes_limit',
      help: 'API writes the bulk lane (the backlog at start, refreshes) may have in flight now: up to BULK_WRITES_IN_FLIGHT, fewer while the API server answers slower than its usual pace.',
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

/**
 * `fleetscan_writer_failing_images`, computed at scrape from the failures bucket's view: images
 * whose last scan failed and that some owner in the namespace still runs.
 */
export function registerFailingImages(
  registry: Registry,
  failing: () => Iterable<{ namespace: string; reason: string; count: number }>,
): void {
  new Gauge({
    name: 'fleetscan_writer_failing_images',
    help: 'Images whose last scan failed (no report written; retried with backoff), by namespace and reason, counting only images some owner in the namespace runs.',
    labelNames: ['namespace', 'reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of failing()) this.set({ namespace: f.namespace, reason: f.reason }, f.count);
    },
  });
}

/**
 * trivy-operator's report metric families the writer serves, one file per report kind
 * (report-metrics/). Another report kind adds its families here.
 */
export function reportFamilies(source: ReportSource): ReportFamily[] {
  return [
    ...vulnerabilityFamilies(source),
    ...exposedSecretFamilies(source),
    ...configAuditFamilies(source),
    ...rbacAssessmentFamilies(source),
    ...infraAssessmentFamilies(source),
  ];
}

/** Every label name the families have: a report label must not give one of these. */
export function reportFamilyLabelNames(): Set<string> {
  return new Set([
    ...reportFamilies({ reportsOf: () => [] }).flatMap((f) => f.labelNames),
    // The writer labels every series with its cluster (app.ts, the registry's default labels).
    'cluster',
  ]);
}

/** What the report metrics serve (the writer's METRICS_* and REPORT_RESOURCE_LABELS settings). */
export interface ReportMetricsOptions {
  /** Serve the trivy_* families at all (trivy-operator's OPERATOR_METRICS_FINDINGS_ENABLED). */
  readonly enabled: boolean;
  /** The opt-in info families that are on. */
  readonly info: Readonly<Partial<Record<InfoOption, boolean>>>;
  /** Report label keys added to every family, and their metric label names, in order. */
  readonly labelKeys: readonly string[];
  readonly labelNames: readonly string[];
  /** Most series of each info family per scrape. */
  readonly maxInfoSeries: number;
}

/** What the inventory must keep of each report for these metrics (nothing more: memory). */
export function reportDetailFor(o: ReportMetricsOptions): ReportDetailOptions {
  if (!o.enabled) return {};
  return {
    labels: o.labelKeys,
    os: !!o.info.imageInfo,
    vulnerabilities: !!o.info.vulnerabilityId,
    secrets: !!o.info.exposedSecretInfo,
    checks: [
      ...(o.info.configAuditInfo ? (['ConfigAuditReport'] as const) : []),
      ...(o.info.rbacAssessmentInfo ? (['RbacAssessmentReport'] as const) : []),
      ...(o.info.infraAssessmentInfo ? (['InfraAssessmentReport'] as const) : []),
    ],
  };
}

/**
 * trivy-operator's report metrics, computed at scrape from the reports the inventory watches: the
 * summary families (one series per report and severity, bounded by the number of reports) and the
 * info families that are on (one series per finding, bounded by `maxInfoSeries` each). A scrape
 * never fails whatever a report contains. The writer's own gauges say what each family served
 * and left out at that scrape.
 */
export function registerReportMetrics(
  registry: Registry,
  source: ReportSource,
  options: ReportMetricsOptions,
  onError: (family: string, err: unknown) => void = () => {},
): void {
  if (!options.enabled) return;
  const series = new Gauge({
    name: 'fleetscan_writer_report_metric_series',
    help: 'Series each trivy_* family served at the last scrape (info families: at most METRICS_INFO_MAX_SERIES).',
    labelNames: ['family'] as const,
    registers: [],
  });
  const dropped = new Gauge({
    name: 'fleetscan_writer_report_metric_series_dropped',
    help: 'Series of an info family left out at the last scrape because it had more than METRICS_INFO_MAX_SERIES.',
    labelNames: ['family'] as const,
    registers: [],
  });
  for (const family of reportFamilies(source)) {
    if (family.info && !options.info[family.info]) continue;
    series.set({ family: family.name }, 0);
    if (family.info) dropped.set({ family: family.name }, 0);
    registry.registerMetric(
      familyMetric(family, {
        labelKeys: options.labelKeys,
        labelNames: options.labelNames,
        maxInfoSeries: options.maxInfoSeries,
        onCollected: (name, served, left, err) => {
          series.set({ family: name }, served);
          if (family.info) dropped.set({ family: name }, left);
          if (err !== undefined) onError(name, err);
        },
      }),
    );
  }
  // Registered after the families: a scrape collects in registration order, so these gauges
  // report the families of the same scrape.
  registry.registerMetric(series);
  registry.registerMetric(dropped);
}
