import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import type { StackInfo } from '@fleetscan/stack';
import { type RunningWatcher, startWatcher, loadConfig as watcherConfig } from '@fleetscan/watcher';
import { type RunningWriter, startWriter, loadConfig as writerConfig } from '@fleetscan/writer';

/**
 * Runs the three services in this process against the real stack, each
 * configured through its own env parser, logging to files in the stack dir.
 */
export interface Services {
  cluster: string;
  watcher: RunningWatcher;
  writer: RunningWriter;
  scanners: RunningScanner[];
  addScanner(env?: Record<string, string>): Promise<RunningScanner>;
  stop(): Promise<void>;
}

const logTo = (stack: StackInfo, name: string) =>
  createLogger({
    service: name,
    level: 'debug',
    destination: createWriteStream(join(stack.dir, `${name}.log`), { flags: 'a' }),
  });

export function scannerEnv(stack: StackInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: stack.natsUrl,
    TRIVY_BIN: stack.trivy.bin,
    TRIVY_CACHE_DIR: stack.trivy.cacheDir,
    METRICS_PORT: '0',
    ACK_WAIT_SECONDS: '10',
    CONFIG_BATCH_WAIT_MS: '100',
    ...extra,
  };
}

export async function startServices(stack: StackInfo, cluster: string): Promise<Services> {
  const common = {
    CLUSTER_NAME: cluster,
    KUBECONFIG: stack.kubeconfigPath,
    NATS_URL: stack.natsUrl,
    METRICS_PORT: '0',
  };
  const scanners: RunningScanner[] = [];
  const addScanner = async (env: Record<string, string> = {}) => {
    const config = scannerConfig(
      scannerEnv(stack, { REPLICA_NAME: `${cluster}-s${scanners.length}`, ...env }),
    );
    const logger = logTo(stack, `scanner-${cluster}-${scanners.length}`);
    const s = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
    scanners.push(s);
    return s;
  };
  await addScanner();
  const writer = await startWriter({
    config: writerConfig(common),
    logger: logTo(stack, `writer-${cluster}`),
  });
  const watcher = await startWatcher({
    config: watcherConfig(common),
    logger: logTo(stack, `watcher-${cluster}`),
  });
  return {
    cluster,
    watcher,
    writer,
    scanners,
    addScanner,
    async stop() {
      await watcher.stop();
      await Promise.all(scanners.map((s) => s.stop()));
      await writer.stop();
    },
  };
}

/** Reads one sample of a metric from a prom-client registry, summing across matching label sets. */
export async function metricValue(
  registry: { getSingleMetricAsString(name: string): Promise<string> },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await registry.getSingleMetricAsString(name).catch(() => '');
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^(\w+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
