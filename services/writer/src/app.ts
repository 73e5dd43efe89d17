import {
  type ConfigAuditResult,
  ConfigAuditResultSchema,
  type Consumption,
  connectBus,
  consume,
  ensureConsumer,
  ensureStreams,
  type ImageScanResult,
  ImageScanResultSchema,
  LANES,
  type Lane,
  type Outcome,
  openBlobStore,
  STREAM_RESULTS,
  subjects,
  writerConsumer,
  writerConsumerConfig,
} from '@fleetscan/bus';
import { createInventory } from '@fleetscan/inventory';
import { type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import { createReadiness, type Logger, startOpsServer } from '@fleetscan/service';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { createReportApi } from './apply.ts';
import { createCleanup } from './cleanup.ts';
import type { WriterConfig } from './config.ts';
import { createWriterMetrics, registerReportMetrics } from './metrics.ts';
import { createReconciler, type Disposition } from './reconcile.ts';

export interface WriterDeps {
  config: WriterConfig;
  logger: Logger;
  /** The API server; loaded from config.kubeconfigPath (or in-cluster) when omitted, and then closed on stop. */
  kubeConnection?: KubeConnection;
  registry?: Registry;
}

export interface RunningWriter {
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** A result as the writer's consumer decodes it: which kind it is follows from its subject. */
type Result = { type: 'image'; r: ImageScanResult } | { type: 'config'; r: ConfigAuditResult };

/** Wires the writer: inventory (owners + reports), the results consumer, the report API. */
export async function startWriter(deps: WriterDeps): Promise<RunningWriter> {
  const { config, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createWriterMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  readiness.set('watches', false, 'initial list');
  const kc = deps.kubeConnection ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath });
  let cleanup: ReturnType<typeof createCleanup> | undefined;
  let inventorySynced = false;
  const inventory = createInventory({
    kc,
    logger,
    events: {
      onOwner: (_key, owner, prev) => {
        if (!owner && prev && inventorySynced) void cleanup?.ownerGone(prev);
        if (owner && !prev && inventorySynced) void reconciler.ownerAppeared(owner);
      },
      onReport: (type, r) => {
        if (type === 'DELETED') reconciler.reportDeleted(r.kind, r.namespace, r.name);
      },
    },
  });
  registerReportMetrics(registry, inventory);
  inventory.start();

  const nc = await connectBus({
    url: config.nats.url,
    name: `fleetscan-writer-${config.cluster}`,
    ...(config.nats.user ? { user: config.nats.user, pass: config.nats.pass } : {}),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  for (const lane of LANES) {
    await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(config.cluster, {}, lane));
  }
  const js = jetstream(nc);
  const api = createReportApi(kc);
  cleanup = createCleanup({ inventory, api, metrics, logger });
  const sweep = setInterval(() => {
    if (inventorySynced) void cleanup?.sweep();
  }, config.cleanupIntervalMs);
  sweep.unref();
  const reconciler = createReconciler({
    inventory,
    blobs: await openBlobStore(js),
    api,
    metrics,
    logger,
    settings: { ttlSeconds: config.reportTtlSeconds, maxReportBytes: config.maxReportBytes },
    writeConcurrency: config.writeConcurrency,
  });

  const abort = new AbortController();
  const health = setInterval(() => {
    const h = inventory.health();
    readiness.set('watches', h.ok, h.reasons.join('; '));
  }, 1000);
  health.unref();
  const lag = setInterval(() => {
    Promise.all(LANES.map((l) => jsm.consumers.info(STREAM_RESULTS, writerConsumer(config.cluster, l)))).then(
      (infos) => metrics.lag.set(infos.reduce((a, i) => a + i.num_pending + i.num_ack_pending, 0)),
      () => {},
    );
  }, 5000);
  lag.unref();

  // Results are independent (one report, or one image's fan-out): handle several at once so the API
  // round trips overlap; a late result never replaces a newer report (reconcile.ts). Each lane has
  // its own consumer and slots: an urgent result (a new workload's) is written at once even while a
  // fleet-wide refresh or the install backlog fills the bulk lane.
  const ImageResult = ImageScanResultSchema.transform((r) => ({ type: 'image' as const, r }));
  const ConfigResult = ConfigAuditResultSchema.transform((r) => ({ type: 'config' as const, r }));
  const outcomeOf = (d: Disposition): Outcome =>
    d === 'ack' ? { kind: 'ack' } : { kind: 'retry', reason: d.reason, delayMs: d.retryInMs };
  const results: Consumption[] = [];
  const consumeLane = (lane: Lane) => {
    const imageSubject = subjects.resultImage(config.cluster, lane);
    const configSubject = subjects.resultConfig(config.cluster, lane);
    return consume<Result>({
      js,
      stream: STREAM_RESULTS,
      consumer: writerConsumer(config.cluster, lane),
      schemaFor: (subject) =>
        subject === imageSubject ? ImageResult : subject === configSubject ? ConfigResult : undefined,
      handle: async (m, at) => {
        try {
          return outcomeOf(
            m.type === 'image'
              ? await reconciler.image(m.r, at.delivery)
              : await reconciler.config(m.r, at.delivery),
          );
        } catch (err) {
          metrics.failures.inc({ reason: 'reconcile' });
          throw err;
        }
      },
      concurrency: config.writeConcurrency,
      metrics: metrics.consume,
      logger,
      signal: abort.signal,
      onTerm: (t) => {
        if (t.ending === 'invalid') {
          metrics.results.inc({ type: t.subject.split('.').at(-2) ?? 'unknown', outcome: 'invalid' });
        }
      },
    });
  };
  const loop = (async () => {
    await inventory.synced;
    inventorySynced = true;
    readiness.set('watches', true);
    for (const lane of LANES) {
      if (abort.signal.aborted) return;
      results.push(await consumeLane(lane));
    }
  })();

  logger.info({ cluster: config.cluster, metricsPort: ops.port }, 'writer started');
  return {
    metricsPort: ops.port,
    registry,
    async stop() {
      abort.abort();
      clearInterval(sweep);
      clearInterval(health);
      clearInterval(lag);
      await loop.catch(() => {});
      await Promise.all(results.map((r) => r.stop()));
      await inventory.stop();
      await nc.drain();
      await ops.close();
      if (!deps.kubeConnection) kc.close();
      logger.info('writer stopped');
    },
  };
}
