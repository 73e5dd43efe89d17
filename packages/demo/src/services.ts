import { join } from 'node:path';
import {
  freePort,
  type ManagedProcess,
  natsEnv,
  repoRoot,
  type StackInfo,
  startProcess,
} from '@fleetscan/stack';

/**
 * Node flags each service runs with, here and in its image's ENTRYPOINT (a test keeps them equal).
 * Watcher and writer take in whole LIST pages at start and then sit mostly idle; by default V8 grows
 * the heap for that garbage and keeps it. Measured with 10 000 owners and 22 000 reports in place
 * (docs/BENCHMARKS.md), a restarted watcher peaked at 388 MB with default flags, 294 MB with small
 * semi-spaces and 189 MB with --optimize-for-size; the writer at 398 and 231 MB.
 */
export const SERVICE_NODE_FLAGS: Record<'watcher' | 'scanner' | 'writer' | 'fleetview', readonly string[]> = {
  watcher: ['--max-semi-space-size=2', '--optimize-for-size'],
  scanner: [],
  writer: ['--optimize-for-size'],
  fleetview: [],
};

/**
 * Starts the fleet view (services/fleetview) as a process with its own read-only NATS identity;
 * its API and page on a free port of 127.0.0.1.
 */
export async function startFleetviewProcess(
  stack: StackInfo,
  opts: { dieWithParent?: boolean } = {},
): Promise<ServiceProcess & { url: string }> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const proc = startProcess({
    name: 'fleetview',
    command: process.execPath,
    args: [...SERVICE_NODE_FLAGS.fleetview, join(repoRoot, 'services', 'fleetview', 'src', 'main.ts')],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'info',
      ...natsEnv(stack, { role: 'fleetview' }),
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(port),
    },
    logFile: join(stack.dir, 'fleetview.log'),
    dieWithParent: opts.dieWithParent ?? true,
  });
  return {
    name: 'fleetview',
    metricsUrl: `http://127.0.0.1:${port}`,
    process: proc,
    url: `http://127.0.0.1:${apiPort}/`,
  };
}

export interface ServiceProcess {
  name: string;
  metricsUrl: string;
  process: ManagedProcess;
}

/**
 * Starts watcher, scanner(s) and writer as real processes (`node
 * services/<name>/src/main.ts`), configured through the environment exactly
 * as in a cluster, logging JSON to files in the stack directory.
 */
export async function startServiceProcesses(
  stack: StackInfo,
  opts: {
    cluster: string;
    scanners?: number;
    env?: Record<string, string>;
    dieWithParent?: boolean;
    /**
     * Start only the scanners (tests that bring their own watcher and writer), or none, or one of
     * the cluster's two (a fault test starting again the one it killed).
     */
    only?: 'scanner' | 'cluster' | 'watcher' | 'writer';
    /** Names the processes `<prefix>writer`, … (several clusters in one stack). */
    prefix?: string;
    /** Where the `<name>.log` files go (default the stack's directory, which a stop removes). */
    logDir?: string;
  },
): Promise<ServiceProcess[]> {
  const base = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    // The scanner's scratch directories (and its start-up sweep of stale ones) follow the caller's.
    ...(process.env.TMPDIR && { TMPDIR: process.env.TMPDIR }),
    LOG_LEVEL: 'info',
  };
  const start = async (
    name: string,
    service: keyof typeof SERVICE_NODE_FLAGS,
    env: Record<string, string>,
  ): Promise<ServiceProcess> => {
    const port = await freePort();
    const proc = startProcess({
      name,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS[service], join(repoRoot, 'services', service, 'src', 'main.ts')],
      // The caller's env wins over the defaults (a test's slow trivy, a bench's flags).
      env: { ...base, ...env, ...opts.env, METRICS_HOST: '127.0.0.1', METRICS_PORT: String(port) },
      logFile: join(opts.logDir ?? stack.dir, `${name}.log`),
      dieWithParent: opts.dieWithParent ?? true,
    });
    return { name, metricsUrl: `http://127.0.0.1:${port}`, process: proc };
  };
  const kubeconfig =
    stack.clusters.find((c) => c.name === opts.cluster)?.kubeconfigPath ?? stack.kubeconfigPath;
  const cluster = { CLUSTER_NAME: opts.cluster, KUBECONFIG: kubeconfig };
  const prefix = opts.prefix ?? '';
  const out: ServiceProcess[] = [];
  const wants = (service: 'watcher' | 'writer' | 'scanner') =>
    opts.only === undefined || opts.only === service || (opts.only === 'cluster' && service !== 'scanner');
  // Each with its own NATS identity: the cluster's watcher and writer users.
  if (wants('writer')) {
    out.push(
      await start(`${prefix}writer`, 'writer', {
        ...cluster,
        ...natsEnv(stack, { role: 'writer', cluster: opts.cluster }),
      }),
    );
  }
  if (wants('watcher')) {
    out.push(
      await start(`${prefix}watcher`, 'watcher', {
        ...cluster,
        ...natsEnv(stack, { role: 'watcher', cluster: opts.cluster }),
      }),
    );
  }
  for (let i = 0; wants('scanner') && i < (opts.scanners ?? 1); i++) {
    out.push(
      await start(`${prefix}scanner-${i}`, 'scanner', {
        ...natsEnv(stack, { role: 'scanner' }),
        NATS_REPLICAS: String(stack.nats.replicas),
        TRIVY_BIN: stack.trivy.bin,
        TRIVY_CACHE_DIR: stack.trivy.cacheDir,
        AUDITOR_BIN: stack.trivy.auditor,
        REPLICA_NAME: `${prefix}scanner-${i}`,
      }),
    );
  }
  return out;
}

/** Waits until every service answers /readyz, or throws with the first failing one's log. */
export async function waitServicesReady(services: ServiceProcess[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const s of services) {
    for (;;) {
      const ok = await fetch(`${s.metricsUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      const exited = await Promise.race([
        s.process.exited.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 250)),
      ]);
      if (exited || Date.now() > deadline) {
        throw new Error(
          `${s.name} ${exited ? 'exited' : 'not ready'}; log ${s.process.logFile}:\n${await s.process.tail(15)}`,
        );
      }
    }
  }
}
