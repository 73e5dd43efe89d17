#!/usr/bin/env node
import { runMain } from '@fleetscan/service';
import { startScanner } from './app.ts';
import { loadConfig } from './config.ts';
import { createTrivyEngine } from './trivy-engine.ts';

const HELP = `fleetscan-scanner: consumes image scan and config audit requests of every cluster from NATS
JetStream, runs trivy, caches image results by digest and publishes results. Each image digest is
pulled and analysed once; its SBOM is stored, and a new DB, new match settings or a TTL refresh
re-match that SBOM (trivy sbom) without pulling again.

Configuration is read from the environment:
  NATS_URL               NATS server (default nats://127.0.0.1:4222); NATS_USER / NATS_PASSWORD
  TRIVY_BIN              trivy binary (default: trivy on PATH)
  TRIVY_CACHE_DIR        trivy cache dir holding db/trivy.db (required; never updated from the network)
  DB_CHECK_SECONDS       re-read db/metadata.json this often; a new DB version is published to the
                         fleetscan-state KV bucket (key trivy-db) for watchers (default 30)
  SCANNER_PRIVATE_KEY_FILE  PEM (PKCS#8) private key opening registry credentials that watchers sealed
                         for the fleet; without it, requests carrying credentials fail with CREDENTIALS
  SCAN_TIMEOUT_SECONDS   kill trivy (its whole process group) after this long (default 300)
  REQUEST_TIMEOUT_SECONDS  the most one request may take, all steps together: digest lookup, lock
                         waits, every trivy run, stores (default 3 x SCAN_TIMEOUT_SECONDS + 60); past
                         it the request counts as a TIMEOUT, and a handler still running 30 s later
                         is a stuck slot (/readyz, fleetscan_consumer_stuck_handlers)
  IMAGE_CONCURRENCY      image scans run at once by this replica (default 1)
  CONFIG_BATCH_SIZE      manifests per trivy config run at most (default 500)
  CONFIG_BATCH_WAIT_MS   how long to wait for a batch to fill (default 250)
  INSECURE_REGISTRIES    extra plain-HTTP registries, comma-separated (loopback ones always are)
  ACK_WAIT_SECONDS       redelivery timeout without in-progress acks, which are sent every third of it:
                         a dead replica's work moves to another after this long (default 15)
  METRICS_HOST / METRICS_PORT   /metrics, /healthz, /readyz (default 127.0.0.1:8080)
  LOG_LEVEL              fatal|error|warn|info|debug|trace (default info)
  REPLICA_NAME           this replica's name (default: hostname)
`;

runMain({
  service: 'scanner',
  help: HELP,
  loadConfig: () => loadConfig(),
  start: (config, logger) =>
    startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) }),
});
