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
  NATS_URL               NATS server(s), comma-separated for a NATS cluster (default nats://127.0.0.1:4222)
  NATS_NKEY_FILE         this service's credentials: an nkey seed file; or NATS_CREDS_FILE (user JWT
                         and seed), or NATS_USER with NATS_PASSWORD_FILE / NATS_PASSWORD. Each service
                         of each cluster has its own NATS user and subject permissions
  NATS_TLS_CA_FILE       CA that signed the NATS server's certificate (TLS required then);
                         NATS_TLS_CERT_FILE / NATS_TLS_KEY_FILE for a client certificate
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
