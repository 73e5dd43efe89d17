#!/usr/bin/env node
import { createLogger, isConfigError, onShutdownSignal } from '@fleetscan/service';
import { startWatcher } from './app.ts';
import { loadConfig } from './config.ts';

const HELP = `fleetscan-watcher: watches one cluster's workloads and fleetscan's reports, and publishes
the image scans and config audits that are missing to NATS JetStream.

Configuration is read from the environment:
  CLUSTER_NAME           this cluster's name in subjects (required; lowercase, digits, '-')
  KUBECONFIG             kubeconfig file (default: in-cluster service account, then ~/.kube/config)
  NATS_URL               NATS server (default nats://127.0.0.1:4222); NATS_USER / NATS_PASSWORD
  SCANNERS               image scanners, comma-separated: vuln, secret (default vuln)
  RESYNC_SECONDS         re-check every owner this often (default 300)
  REQUEST_RETRY_SECONDS  ask again when a request got no report within this time (default 600)
  METRICS_HOST / METRICS_PORT   /metrics, /healthz, /readyz (default 127.0.0.1:8080)
  LOG_LEVEL              fatal|error|warn|info|debug|trace (default info)
`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger({ service: 'watcher', level: config.logLevel });
  const shutdown = onShutdownSignal();
  const watcher = await startWatcher({ config, logger });
  const sig = await shutdown.signal;
  logger.info({ signal: sig }, 'shutting down');
  await watcher.stop();
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
    process.stderr.write(`fleetscan-watcher: ${msg}\n`);
    process.exit(1);
  },
);
