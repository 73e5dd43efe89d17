#!/usr/bin/env node
import { createLogger, isConfigError, onShutdownSignal } from '@fleetscan/service';
import { startScanner } from './app.ts';
import { loadConfig } from './config.ts';
import { createTrivyEngine } from './trivy-engine.ts';

const HELP = `fleetscan-scanner: consumes image scan and config audit requests of every cluster from NATS
JetStream, runs trivy, caches image results by digest and publishes results.

Configuration is read from the environment:
  NATS_URL               NATS server (default nats://127.0.0.1:4222); NATS_USER / NATS_PASSWORD
  TRIVY_BIN              trivy binary (default: trivy on PATH)
  TRIVY_CACHE_DIR        trivy cache dir holding db/trivy.db (required; never updated from the network)
  SCAN_TIMEOUT_SECONDS   kill trivy after this long (default 300)
  IMAGE_CONCURRENCY      image scans run at once by this replica (default 1)
  CONFIG_BATCH_SIZE      manifests per trivy config run (default 50)
  CONFIG_BATCH_WAIT_MS   how long to wait for a batch to fill (default 250)
  INSECURE_REGISTRIES    extra plain-HTTP registries, comma-separated (loopback ones always are)
  ACK_WAIT_SECONDS       redelivery timeout without in-progress acks (default 60)
  METRICS_HOST / METRICS_PORT   /metrics, /healthz, /readyz (default 127.0.0.1:8080)
  LOG_LEVEL              fatal|error|warn|info|debug|trace (default info)
  REPLICA_NAME           this replica's name (default: hostname)
`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger({ service: 'scanner', level: config.logLevel });
  const shutdown = onShutdownSignal();
  const scanner = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
  const sig = await shutdown.signal;
  logger.info({ signal: sig }, 'shutting down');
  await scanner.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = isConfigError(err)
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
    process.stderr.write(`fleetscan-scanner: ${msg}\n`);
    process.exit(1);
  },
);
