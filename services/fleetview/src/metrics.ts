import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createFleetviewMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'fleetscan_fleetview_messages_total',
      help: 'Fleet stream messages applied to the read model, by kind: inventory, findings, checks, invalid (skipped).',
      labelNames: ['kind'] as const,
      registers,
    }),
    rows: new Gauge({
      name: 'fleetscan_fleetview_model_rows',
      help: 'Rows of the read model, by table (owners, containers, scans, digests, findings, checks).',
      labelNames: ['table'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'fleetscan_fleetview_http_requests_total',
      help: 'API requests by route and status.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'fleetscan_fleetview_http_request_seconds',
      help: 'API answer time by route.',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    ingestFailures: new Counter({
      name: 'fleetscan_fleetview_ingest_failures_total',
      help: 'Times reading the fleet stream failed and was started again.',
      registers,
    }),
  };
}
export type FleetviewMetrics = ReturnType<typeof createFleetviewMetrics>;
