import {
  connectBus,
  createDeadLetters,
  ensureClusterResources,
  ensureTopology,
  inboxPrefix,
  LANES,
  pendingMessages,
  STREAM_SCAN,
  scanConsumer,
  serveProvisioning,
  subjects,
} from '@fleetscan/bus';
import {
  type Clock,
  createReadiness,
  createServiceRegistry,
  type Logger,
  startOpsServer,
  systemClock,
} from '@fleetscan/service';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { watchAuditorReady } from './auditor-ready.ts';
import type { ScannerConfig } from './config.ts';
import { createConfigWorker } from './config-worker.ts';
import { startDbVersionPublisher } from './db-version.ts';
import { checkAccess, resolveDigest } from './digest.ts';
import type { ScanEngine } from './engine.ts';
import { createChecksPublisher } from './fleet-checks.ts';
import { createFindingsPublisher } from './fleet-findings.ts';
import { createImageWorker } from './image-worker.ts';
import { createManifestBuckets } from './manifests.ts';
import { createScannerMetrics } from './metrics.ts';

export interface ScannerDeps {
  config: ScannerConfig;
  logger: Logger;
  engine: ScanEngine;
  clock?: Clock;
  registry?: Registry;
}

export interface RunningScanner {
  readonly metricsPort: number;
  readonly registry: Registry;
  /** Stops pulling, returns in-flight messages to the stream, drains NATS. */
  stop(): Promise<void>;
}

/** Wires the scanner: the NATS topology (the scanners own it), the two workers, metrics and health. */
export async function startScanner(deps: ScannerDeps): Promise<RunningScanner> {
  const { config, logger } = deps;
  const registry = deps.registry ?? createServiceRegistry();
  const metrics = createScannerMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  const nc = await connectBus({
    servers: config.nats.servers,
    name: `fleetscan-scanner-${config.replica}`,
    ...(config.nats.auth && { auth: config.nats.auth }),
    ...(config.nats.tls && { tls: config.nats.tls }),
    inboxPrefix: inboxPrefix({ role: 'scanner' }),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const topology = await ensureTopology(js, {
    scanAckWaitMs: config.ackWaitMs,
    replicas: config.nats.replicas,
  });
  const { blobs, locks } = topology;
  // Each cluster's resources (its writer's consumers, its failures and manifests buckets), made
  // when its watcher or writer asks: they may create no stream or consumer themselves.
  const provisioning = serveProvisioning({
    nc,
    ensure: (cluster) => ensureClusterResources(js, cluster, { replicas: config.nats.replicas }),
    logger,
  });
  const dbVersion = await startDbVersionPublisher({
    kv: topology.state,
    dbUpdatedAt: () => deps.engine.dbUpdatedAt(),
    intervalMs: config.dbCheckMs,
    logger,
    metrics,
    onState: (ok, reason) => readiness.set('trivy-db', ok, reason),
  });
  const common = {
    js,
    resultsBucket: (cluster: string) => topology.resultsBucket(cluster),
    engine: deps.engine,
    metrics,
    logger,
    clock: deps.clock ?? systemClock,
    requestTimeoutMs: config.requestTimeoutMs,
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    deadLetters: createDeadLetters({ js }),
  };
  const image = createImageWorker({
    ...common,
    blobs,
    locks,
    resolve: resolveDigest,
    checkAccess,
    privateKey: config.privateKey,
    concurrency: config.imageConcurrency,
    scanAttempts: config.scanAttempts,
    insecureRegistries: config.insecureRegistries,
    replica: config.replica,
    findings: createFindingsPublisher(js, jsm),
  });
  const cfg = createConfigWorker({
    ...common,
    manifests: createManifestBuckets(js),
    // Workload manifests (literal env values among them) are not kept for a week: the headers say
    // which message it was and why it ended.
    deadLetters: createDeadLetters({ js, maxBodyBytes: 0 }),
    batchSize: config.configBatch.size,
    batchWaitMs: config.configBatch.waitMs,
    checks: createChecksPublisher(js),
  });
  await image.start();
  await cfg.start();
  const workers = LANES.flatMap((lane) => [
    {
      name: scanConsumer('image', lane),
      filter: subjects.allScanImage(lane),
      held: () => image.held(lane),
      slots: config.imageConcurrency,
    },
    {
      name: scanConsumer('config', lane),
      filter: subjects.allScanConfig(lane),
      held: () => cfg.held(lane),
      slots: 2 * config.configBatch.size,
    },
  ]);
  // Each consumer's slots are a readiness check of their own: a handler stuck past its bound shows
  // there by name, instead of /readyz saying ok while every slot is blocked.
  const checkSlots = () => {
    for (const w of workers) {
      const h = w.held();
      readiness.set(
        w.name,
        h.stuck === 0,
        h.stuck === 0
          ? `${h.count} of ${w.slots} slots busy`
          : `${h.stuck} of ${w.slots} slots stuck past the ${config.requestTimeoutMs / 1000} s bound (oldest held ${Math.round(h.oldestMs / 1000)} s)`,
      );
    }
  };
  checkSlots();
  const auditor = watchAuditorReady(deps.engine, readiness);
  const lag = setInterval(() => {
    checkSlots();
    auditor.recheck();
    for (const w of workers) {
      pendingMessages(jsm, STREAM_SCAN, w.filter).then(
        (n) => metrics.pending.set({ consumer: w.name }, n),
        () => {},
      );
    }
  }, 5000);
  lag.unref();
  readiness.set('workers', true);
  logger.info(
    {
      metricsPort: ops.port,
      concurrency: config.imageConcurrency,
      ...(config.privateKey && { credentialsKeyId: config.privateKey.kid }),
    },
    'scanner started',
  );
  return {
    metricsPort: ops.port,
    registry,
    async stop() {
      clearInterval(lag);
      await Promise.all([provisioning.stop(), dbVersion.stop(), image.stop(), cfg.stop()]);
      await deps.engine.close();
      await nc.drain();
      await ops.close();
      logger.info('scanner stopped');
    },
  };
}
