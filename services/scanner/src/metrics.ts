import { createConsumeMetrics } from '@fleetscan/bus';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** image: one pull and analysis (`trivy image` + `trivy convert`); sbom: one re-match (`trivy sbom`). */
export type ScanType = 'image' | 'sbom' | 'config';

/** The scanner's operational metrics, registered on the registry it is given. */
export function createScannerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'fleetscan_scanner_requests_total',
      help: 'Scan requests handled, by type, outcome (scanned, matched, cached, error, invalid, retried) and the requesting cluster; how each delivery ended is in fleetscan_consumer_messages_total.',
      labelNames: ['type', 'outcome', 'cluster'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'fleetscan_scanner_scans_in_flight',
      help: 'trivy processes running now.',
      labelNames: ['type'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'fleetscan_scanner_scan_duration_seconds',
      help: 'Wall time of one trivy run (image analysis, SBOM re-match, or one batched config audit).',
      labelNames: ['type'] as const,
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    cache: new Counter({
      name: 'fleetscan_scanner_cache_total',
      help: "Image result cache lookups by result (hit; miss: none for this digest, DB and settings; stale: older than the request's notBefore) and the requesting cluster.",
      labelNames: ['result', 'cluster'] as const,
      registers,
    }),
    trivyRuns: new Counter({
      name: 'fleetscan_scanner_trivy_runs_total',
      help: 'trivy runs started, by type (image: pull + analysis, sbom: re-match, config) and the cluster whose request started it (empty for config: a batch mixes clusters); image runs divided by unique digests is scan amplification.',
      labelNames: ['type', 'cluster'] as const,
      registers,
    }),
    sbomMatches: new Counter({
      name: 'fleetscan_scanner_sbom_matches_total',
      help: 'Results made by re-matching a stored SBOM instead of pulling, by trigger (miss: new DB or settings; stale: notBefore; scan: match settings right after an analysis) and requesting cluster.',
      labelNames: ['trigger', 'cluster'] as const,
      registers,
    }),
    promoted: new Counter({
      name: 'fleetscan_scanner_promoted_runs_total',
      help: 'Bulk-lane trivy runs (niced) killed and started again at normal priority because an urgent request waited for them, by requesting cluster of the bulk request; the restart is not counted again in fleetscan_scanner_trivy_runs_total.',
      labelNames: ['cluster'] as const,
      registers,
    }),
    dbUpdated: new Gauge({
      name: 'fleetscan_scanner_trivy_db_updated_timestamp_seconds',
      help: 'UpdatedAt of the trivy DB this replica matches with (metadata.json), as Unix time.',
      registers,
    }),
    failures: new Counter({
      name: 'fleetscan_scanner_failures_total',
      help: 'Failures by type, reason (error code) and requesting cluster (empty for a failed config batch).',
      labelNames: ['type', 'reason', 'cluster'] as const,
      registers,
    }),
    pending: new Gauge({
      name: 'fleetscan_scanner_consumer_pending',
      help: "Requests in the shared scan stream for each consumer, whatever their state: waiting, being handled, waiting for a retry (stream lag, for autoscaling). Counted from the stream, not from the consumer's num_pending + num_ack_pending, which leave out a message JetStream stopped delivering.",
      labelNames: ['consumer'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'fleetscan_scanner_config_batch_size',
      help: 'Manifests audited per audit worker request (one config audit batch).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers,
    }),
    /** consume()'s counters for the scan-image and scan-config consumers. */
    consume: createConsumeMetrics(registry),
  };
}

export type ScannerMetrics = ReturnType<typeof createScannerMetrics>;
