#!/usr/bin/env node
import { runMain } from '@fleetscan/service';
import { startWriter } from './app.ts';
import { loadConfig } from './config.ts';

const HELP = `fleetscan-writer: consumes one cluster's scan results from NATS JetStream and writes
trivy-operator-compatible VulnerabilityReports and ConfigAuditReports owned by the workloads.

Configuration is read from the environment:
  CLUSTER_NAME           this cluster's name in subjects (required; lowercase, digits, '-')
  KUBECONFIG             kubeconfig file, or files separated by ":" merged as kubectl does
                         (default: in-cluster service account, then ~/.kube/config)
  HTTPS_PROXY / NO_PROXY proxy for the API server and hosts reached directly, as kubectl reads
                         them (also HTTP_PROXY and the lower-case names); a kubeconfig proxy-url wins
  NATS_URL               NATS server (default nats://127.0.0.1:4222); NATS_USER / NATS_PASSWORD
  REPORT_TTL             report-ttl annotation written on reports (default 24h)
  WRITE_CONCURRENCY      report writes in flight at once (default 8)
  MAX_REPORT_BYTES       largest report written; past it the most severe findings that fit are
                         kept, with the full summary and fleetscan.io/omitted-findings (default 1000000)
  CLEANUP_INTERVAL_SECONDS  sweep for reports of former owners (default 60)
  METRICS_HOST / METRICS_PORT   /metrics (with trivy_image_vulnerabilities and
                         trivy_resource_configaudits), /healthz, /readyz (default 127.0.0.1:8080)
  LOG_LEVEL              fatal|error|warn|info|debug|trace (default info)
`;

runMain({
  service: 'writer',
  help: HELP,
  loadConfig: () => loadConfig(),
  start: (config, logger) => startWriter({ config, logger }),
});
