#!/usr/bin/env node
import { runMain } from '@fleetscan/service';
import { startWatcher } from './app.ts';
import { loadConfig } from './config.ts';

const HELP = `fleetscan-watcher: watches one cluster's workloads and fleetscan's reports, and publishes
the image scans and config audits that are missing to NATS JetStream.

Configuration is read from the environment (lists are comma-separated):
  CLUSTER_NAME           this cluster's name in subjects (required; lowercase, digits, '-')
  KUBECONFIG             kubeconfig file, or files separated by ":" merged as kubectl does
                         (default: in-cluster service account, then ~/.kube/config)
  NATS_URL               NATS server(s), comma-separated for a NATS cluster (default nats://127.0.0.1:4222)
  NATS_NKEY_FILE         this service's credentials: an nkey seed file; or NATS_CREDS_FILE (user JWT
                         and seed), or NATS_USER with NATS_PASSWORD_FILE / NATS_PASSWORD. Each service
                         of each cluster has its own NATS user and subject permissions
  NATS_TLS_CA_FILE       CA that signed the NATS server's certificate (TLS required then);
                         NATS_TLS_CERT_FILE / NATS_TLS_KEY_FILE for a client certificate
What is scanned:
  NAMESPACES_INCLUDE     namespace globs to scan (default: all)
  NAMESPACES_EXCLUDE     namespace globs never scanned
  TARGET_KINDS           Pod,ReplicaSet,ReplicationController,StatefulSet,DaemonSet,Job,CronJob (default all)
  SKIP_LABELS            key or key=value: workloads with such a label are skipped
  EXCLUDE_IMAGES         image globs never scanned
  SCAN_INIT_CONTAINERS / SCAN_EPHEMERAL_CONTAINERS   true (default) or false
How (part of the settings hash: changing any refreshes the affected reports):
  SCANNERS               vuln (default) or vuln,secret
  SEVERITIES             e.g. CRITICAL,HIGH (default: all)
  IGNORE_UNFIXED         true or false (default false)
  SKIP_FILES / SKIP_DIRS trivy --skip-files / --skip-dirs
  IGNORE_FILE            path of a .trivyignore whose contents are sent with requests
  IGNORE_POLICY          path of a Rego ignore policy whose contents are sent with requests
  SCANNER_PUBLIC_KEY_FILE  scanner fleet public key (PEM); pull-secret credentials are sealed with it
When:
  RESYNC_SECONDS         re-check every owner this often (default 300)
  REQUEST_RETRY_SECONDS  ask again when a request got no report within this time (default 600)
  REFRESH_BATCH_SIZE     refreshes of existing reports sent per interval (default 100)
  REFRESH_INTERVAL_SECONDS  (default 10)
  TAG_RECHECK_SECONDS    resolve tags again this often to notice re-pushed tags (default 3600, 0 = never)
Operations:
  METRICS_HOST / METRICS_PORT   /metrics, /healthz, /readyz (default 127.0.0.1:8080)
  LOG_LEVEL              fatal|error|warn|info|debug|trace (default info)
`;

runMain({
  service: 'watcher',
  help: HELP,
  loadConfig: () => loadConfig(),
  start: (config, logger) => startWatcher({ config, logger }),
});
