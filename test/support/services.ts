import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import { natsEnv, provisionCluster, type StackInfo } from '@fleetscan/stack';
import { type RunningWatcher, startWatcher, loadConfig as watcherConfig } from '@fleetscan/watcher';
import { type RunningWriter, startWriter, loadConfig as writerConfig } from '@fleetscan/writer';

/**
 * Runs the three services in this process against the real stack, each
 * configured through its own env parser, logging to files in the stack dir.
 */
export interface Services {
  cluster: string;
  readonly watcher: RunningWatcher;
  readonly writer: RunningWriter;
  scanners: RunningScanner[];
  addScanner(env?: Record<string, string>): Promise<RunningScanner>;
  /** Stops the writer, runs `pauseWhile`, then starts a new one (same cluster). */
  restartWriter(opts?: { pauseWhile?: () => Promise<void> }): Promise<void>;
  /** Stops the watcher and starts a new one with extra env (a configuration change). */
  restartWatcher(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceEnv {
  watcher?: Record<string, string>;
  writer?: Record<string, string>;
  scanner?: Record<string, string>;
}

const logTo = (stack: StackInfo, name: string) =>
  createLogger({
    service: name,
    level: 'debug',
    destination: createWriteStream(join(stack.dir, `${name}.log`), { flags: 'a' }),
  });

export function scannerEnv(stack: StackInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...natsEnv(stack, { role: 'scanner' }),
    NATS_REPLICAS: String(stack.nats.replicas),
    TRIVY_BIN: stack.trivy.bin,
    TRIVY_CACHE_DIR: stack.trivy.cacheDir,
    AUDITOR_BIN: stack.trivy.auditor,
    METRICS_PORT: '0',
    ACK_WAIT_SECONDS: '10',
    CONFIG_BATCH_WAIT_MS: '100',
    ...extra,
  };
}

export async function startServices(
  stack: StackInfo,
  cluster: string,
  env: ServiceEnv = {},
  /** Scanner replicas started with the cluster's services (0: the fleet's scanners run elsewhere). */
  opts: { scanners?: number } = {},
): Promise<Services> {
  // Each cluster has its own NATS users (watcher-<cluster>, writer-<cluster>).
  await provisionCluster(stack, cluster);
  const kubeconfig = stack.clusters.find((c) => c.name === cluster)?.kubeconfigPath ?? stack.kubeconfigPath;
  const common = {
    CLUSTER_NAME: cluster,
    KUBECONFIG: kubeconfig,
    METRICS_PORT: '0',
    // Every test file shares one cluster, and cluster-scoped objects (the ~70 bootstrap ClusterRoles,
    // the CRDs) are in no test's namespace: audited by default, every file's services would audit
    // them all again. Workloads only, unless a test asks for more (kinds.test.ts audits every kind;
    // the deploy tests run with the chart's default).
    SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload',
  };
  const scanners: RunningScanner[] = [];
  const addScanner = async (extra: Record<string, string> = {}) => {
    const config = scannerConfig(
      scannerEnv(stack, { REPLICA_NAME: `${cluster}-s${scanners.length}`, ...env.scanner, ...extra }),
    );
    const logger = logTo(stack, `scanner-${cluster}-${scanners.length}`);
    const s = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
    scanners.push(s);
    return s;
  };
  const newWriter = () =>
    startWriter({
      // ClusterComplianceReports are cluster-wide: only the test about them (compliance.test.ts) keeps them.
      config: writerConfig({
        ...common,
        ...natsEnv(stack, { role: 'writer', cluster }),
        CLUSTER_COMPLIANCE_ENABLED: 'false',
        ...env.writer,
      }),
      logger: logTo(stack, `writer-${cluster}`),
    });
  let watcherEnv = { ...common, ...natsEnv(stack, { role: 'watcher', cluster }), ...env.watcher };
  const newWatcher = () =>
    startWatcher({ config: watcherConfig(watcherEnv), logger: logTo(stack, `watcher-${cluster}`) });
  for (let i = 0; i < (opts.scanners ?? 1); i++) await addScanner();
  let writer = await newWriter();
  let watcher = await newWatcher();
  return {
    cluster,
    get watcher() {
      return watcher;
    },
    get writer() {
      return writer;
    },
    scanners,
    addScanner,
    async restartWriter(opts = {}) {
      await writer.stop();
      await opts.pauseWhile?.();
      writer = await newWriter();
    },
    async restartWatcher(extra = {}) {
      await watcher.stop();
      watcherEnv = { ...watcherEnv, ...extra };
      watcher = await newWatcher();
    },
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
