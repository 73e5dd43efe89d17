import {
  ConfigAuditResultSchema,
  connectBus,
  decode,
  ensureConsumer,
  ensureStreams,
  ImageScanResultSchema,
  isBusError,
  openBlobStore,
  STREAM_RESULTS,
  subjects,
  writerConsumer,
  writerConsumerConfig,
} from '@fleetscan/bus';
import { createInventory } from '@fleetscan/inventory';
import { type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import { createReadiness, type Logger, startOpsServer } from '@fleetscan/service';
import { type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
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

/** Wires the writer: inventory (owners + reports), the results consumer, the report API. */
export async function startWriter(deps: WriterDeps): Promise<RunningWriter> {
  const { config, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createWriterMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  readiness.set('watches', false, 'initial list');
  const kc =
    deps.kubeConnection ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath, proxy: config.kubeProxy });
  if (kc.proxy)
    logger.info({ server: kc.server, proxy: kc.proxy }, 'reaching the API server through a proxy');
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
  await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(config.cluster));
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
    jsm.consumers.info(STREAM_RESULTS, writerConsumer(config.cluster)).then(
      (i) => metrics.lag.set(i.num_pending + i.num_ack_pending),
      () => {},
    );
  }, 5000);
  lag.unref();

  async function handle(m: JsMsg): Promise<void> {
    let disposition: Disposition;
    try {
      disposition =
        m.subject === subjects.resultImage(config.cluster)
          ? await reconciler.image(decode(ImageScanResultSchema, m.data), m.info.deliveryCount)
          : await reconciler.config(decode(ConfigAuditResultSchema, m.data), m.info.deliveryCount);
    } catch (err) {
      if (isBusError(err)) {
        metrics.results.inc({ type: m.subject.split('.')[2] ?? 'unknown', outcome: 'invalid' });
        logger.warn({ subject: m.subject, seq: m.seq, reason: err.message }, 'terminating invalid result');
        m.term(err.message);
        return;
      }
      metrics.failures.inc({ reason: 'reconcile' });
      disposition = { retryInMs: 5000, reason: String(err) };
    }
    if (disposition === 'ack') m.ack();
    else {
      logger.debug({ subject: m.subject, reason: disposition.reason }, 'result will be retried');
      m.nak(disposition.retryInMs);
    }
  }

  const loop = (async () => {
    await inventory.synced;
    inventorySynced = true;
    readiness.set('watches', true);
    const consumer = await js.consumers.get(STREAM_RESULTS, writerConsumer(config.cluster));
    // Results are independent (one report, or one image's fan-out): handle several at once so the
    // API round trips overlap; a late result never replaces a newer report (reconcile.ts).
    const inFlight = new Set<Promise<void>>();
    while (!abort.signal.aborted) {
      const free = config.writeConcurrency - inFlight.size;
      if (free <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      // One pull request for every free slot, not one per message: each costs nats-server a request.
      try {
        const batch = await consumer.fetch({ max_messages: free, expires: 2000 });
        for await (const m of batch) {
          const p: Promise<void> = handle(m).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      } catch (err) {
        logger.warn({ err: String(err) }, 'pull from results failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await Promise.all(inFlight);
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
      await inventory.stop();
      await nc.drain();
      await ops.close();
      if (!deps.kubeConnection) kc.close();
      logger.info('writer stopped');
    },
  };
}
