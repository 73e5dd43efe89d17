import {
  CONSUMER_SCAN_CONFIG,
  CONSUMER_SCAN_IMAGE,
  connectBus,
  createDeadLetters,
  ensureConsumer,
  ensureStreams,
  openBlobStore,
  pendingMessages,
  STATE_BUCKET,
  STREAM_SCAN,
  scanConsumerConfigs,
  subjects,
} from '@fleetscan/bus';
import { type Clock, createReadiness, type Logger, startOpsServer, systemClock } from '@fleetscan/service';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Registry } from 'prom-client';
import type { ScannerConfig } from './config.ts';
import { createConfigWorker } from './config-worker.ts';
import { startDbVersionPublisher } from './db-version.ts';
import { checkAccess, resolveDigest } from './digest.ts';
import type { ScanEngine } from './engine.ts';
import { createImageWorker } from './image-worker.ts';
import { createScannerMetrics } from './metrics.ts';

export const LOCK_BUCKET = 'fleetscan-scan-locks';

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

/** Wires the scanner: NATS topology, the two workers, metrics and health. */
export async function startScanner(deps: ScannerDeps): Promise<RunningScanner> {
  const { config, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createScannerMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  const nc = await connectBus({
    url: config.nats.url,
    name: `fleetscan-scanner-${config.replica}`,
    ...(config.nats.user ? { user: config.nats.user, pass: config.nats.pass } : {}),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const jsm = await jetstreamManager(nc);
  const topo = { scanAckWaitMs: config.ackWaitMs };
  await ensureStreams(jsm, topo);
  for (const c of scanConsumerConfigs(topo)) await ensureConsumer(jsm, STREAM_SCAN, c);
  const js = jetstream(nc);
  const blobs = await openBlobStore(js);
  // Locks are refreshed by their holder; the bucket TTL only sweeps what nobody released.
  const kvm = new Kvm(js);
  const locks = await kvm.create(LOCK_BUCKET, { ttl: 15 * 60_000 });
  const dbVersion = await startDbVersionPublisher({
    kv: await kvm.create(STATE_BUCKET),
    dbUpdatedAt: () => deps.engine.dbUpdatedAt(),
    intervalMs: config.dbCheckMs,
    logger,
    metrics,
    onState: (ok, reason) => readiness.set('trivy-db', ok, reason),
  });
  const common = {
    js,
    blobs,
    engine: deps.engine,
    metrics,
    logger,
    clock: deps.clock ?? systemClock,
    requestTimeoutMs: config.requestTimeoutMs,
    deadLetters: createDeadLetters({ js }),
  };
  const image = createImageWorker({
    ...common,
    locks,
    resolve: resolveDigest,
    checkAccess,
    privateKey: config.privateKey,
    concurrency: config.imageConcurrency,
    insecureRegistries: config.insecureRegistries,
    replica: config.replica,
  });
  const cfg = createConfigWorker({
    ...common,
    // Workload manifests (literal env values among them) are not kept for a week: the headers say
    // which message it was and why it ended.
    deadLetters: createDeadLetters({ js, maxBodyBytes: 0 }),
    batchSize: config.configBatch.size,
    batchWaitMs: config.configBatch.waitMs,
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
  });
  await image.start();
  await cfg.start();
  const workers = [
    {
      name: CONSUMER_SCAN_IMAGE,
      filter: subjects.allScanImage,
      worker: image,
      slots: config.imageConcurrency,
    },
    {
      name: CONSUMER_SCAN_CONFIG,
      filter: subjects.allScanConfig,
      worker: cfg,
      slots: 2 * config.configBatch.size,
    },
  ];
  // Each consumer's slots are a readiness check of their own: a handler stuck past its bound shows
  // there by name, instead of /readyz saying ok while every slot is blocked.
  const checkSlots = () => {
    for (const w of workers) {
      const h = w.worker.held();
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
  const lag = setInterval(() => {
    checkSlots();
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
      await Promise.all([dbVersion.stop(), image.stop(), cfg.stop()]);
      await deps.engine.close();
      await nc.drain();
      await ops.close();
      logger.info('scanner stopped');
    },
  };
}
