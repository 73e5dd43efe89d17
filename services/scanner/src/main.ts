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
  NATS_URL               NATS server(s), comma-separated for a NATS cluster (default nats://127.0.0.1:4222)
  NATS_NKEY_FILE         this service's credentials: an nkey seed file; or NATS_CREDS_FILE (user JWT
                         and seed), or NATS_USER with NATS_PASSWORD_FILE / NATS_PASSWORD. Each service
                         of each cluster has its own NATS user and subject permissions
  NATS_TLS_CA_FILE       CA that signed the NATS server's certificate (TLS required then);
                         NATS_TLS_CERT_FILE / NATS_TLS_KEY_FILE for a client certificate
  NATS_REPLICAS          replicas of the streams, KV buckets and object stores the scanners create
                         (they own the topology): 3 on a 3-node NATS cluster (default 1)
  TRIVY_BIN              trivy binary (default: trivy on PATH)
  TRIVY_CACHE_DIR        trivy cache dir holding db/trivy.db (required; never updated from the network)
  DB_CHECK_SECONDS       re-read db/metadata.json this often; a new DB version is published to the
                         fleetscan-state KV bucket (key trivy-db) for watchers (default 30)
  SCANNER_PRIVATE_KEY_FILE  PEM (PKCS#8) private key opening registry credentials that watchers sealed
                         for the fleet; without it, requests carrying credentials fail with CREDENTIALS
  SCAN_TIMEOUT_SECONDS   kill trivy after this long (default 300)
  IMAGE_CONCURRENCY      image scans run at once by this replica (default 1)
  CONFIG_BATCH_SIZE      manifests per trivy config run at most (default 500)
  CONFIG_BATCH_WAIT_MS   how long to wait for a batch to fill (default 250)
  INSECURE_REGISTRIES    extra plain-HTTP registries, comma-separated (loopback ones always are)
  ACK_WAIT_SECONDS       redelivery timeout without in-progress acks (default 60)
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
