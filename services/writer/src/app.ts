import {
  type BlobStore,
  type ConfigAuditResult,
  ConfigAuditResultSchema,
  type Consumption,
  connectBus,
  consume,
  createDeadLetters,
  createReprovision,
  failuresBucket,
  forSubject,
  type ImageScanResult,
  ImageScanResultSchema,
  inboxPrefix,
  isNotFound,
  LANES,
  type Lane,
  openBlobStore,
  pendingMessages,
  requestProvision,
  resultsBucket,
  STREAM_DEAD,
  STREAM_RESULTS,
  subjects,
  waitForStreams,
  writerConsumer,
} from '@fleetscan/bus';
import { createInventory, DEFAULT_REPORT_KINDS, OWNER_KINDS } from '@fleetscan/inventory';
import { type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import { SBOM_REPORT } from '@fleetscan/reports';
import {
  backoff,
  type Clock,
  createReadiness,
  createServiceRegistry,
  type Logger,
  pause,
  startOpsServer,
  systemClock,
  systemTimers,
  type Timers,
} from '@fleetscan/service';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { createReportApi } from './apply.ts';
import { createCleanup } from './cleanup.ts';
import { createComplianceIo } from './compliance-io.ts';
import { type ComplianceLoop, createComplianceLoop } from './compliance-loop.ts';
import type { WriterConfig } from './config.ts';
import { type FailureStore, openFailureStore } from './failure-store.ts';
import {
  createWriterMetrics,
  registerFailingImages,
  registerReportMetrics,
  reportDetailFor,
} from './metrics.ts';
import { createComplianceMetrics } from './metrics-compliance.ts';
import { createReconciler } from './reconcile.ts';
import { renderMetrics } from './report-metrics/exposition.ts';
import { createEventApi } from './scan-events.ts';
import { createScanFailures, type ScanFailures } from './scan-failures.ts';

export interface WriterDeps {
  config: WriterConfig;
  logger: Logger;
  /** The API server; loaded from config.kubeconfigPath (or in-cluster) when omitted, and then closed on stop. */
  kubeConnection?: KubeConnection;
  registry?: Registry;
  /** Time as the writer's decisions see it; tests pass their own. */
  clock?: Clock;
  timers?: Timers;
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
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const registry = deps.registry ?? createServiceRegistry();
  // One writer per cluster: every series it serves is that cluster's.
  registry.setDefaultLabels({ cluster: config.cluster });
  const metrics = createWriterMetrics(registry);
  const readiness = createReadiness();
  // /metrics streams the report families (they can be hundreds of thousands of series).
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness, render: renderMetrics });
  readiness.set('nats', false, 'connecting');
  readiness.set('watches', false, 'initial list');
  readiness.set('topology', false, `waiting for stream ${STREAM_RESULTS}`);
  const kc =
    deps.kubeConnection ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath, proxy: config.kubeProxy });
  if (kc.proxy)
    logger.info({ server: kc.server, proxy: kc.proxy }, 'reaching the API server through a proxy');
  let cleanup: ReturnType<typeof createCleanup> | undefined;
  let inventorySynced = false;
  const inventory = createInventory({
    kc,
    logger,
    // Only what the report metrics that are on read: findings are kept once per distinct finding.
    reportDetail: reportDetailFor(config.reportMetrics),
    resourceKinds: config.resourceKinds,
    // SbomReports are watched only when written: their CRD need not exist otherwise.
    reportKinds: config.sbomReports ? [...DEFAULT_REPORT_KINDS, SBOM_REPORT.kind] : DEFAULT_REPORT_KINDS,
    events: {
      onOwner: (_key, owner, prev) => {
        if (!owner && prev && inventorySynced) void cleanup?.ownerGone(prev);
        if (owner && !prev && inventorySynced) reconciler.ownerAppeared(owner);
      },
      onReport: (type, r) => {
        if (type === 'DELETED') reconciler.reportDeleted(r.kind, r.namespace, r.name);
      },
    },
  });
  const brokenFamilies = new Set<string>();
  registerReportMetrics(registry, inventory, config.reportMetrics, (family, err) => {
    metrics.failures.inc({ reason: 'report_metrics' });
    // Once per family: a report that breaks a family breaks it at every scrape.
    if (brokenFamilies.has(family)) return;
    brokenFamilies.add(family);
    logger.warn(
      { family, err: String(err).slice(0, 500) },
      'a report metric family failed; served what it had',
    );
  });
  let compliance: ComplianceLoop | undefined;
  const complianceMetrics = createComplianceMetrics(
    registry,
    () => compliance?.reports() ?? [],
    config.compliance.metrics,
  );
  inventory.start();

  const nc = await connectBus({
    servers: config.nats.servers,
    name: `fleetscan-writer-${config.cluster}`,
    ...(config.nats.auth && { auth: config.nats.auth }),
    ...(config.nats.tls && { tls: config.nats.tls }),
    inboxPrefix: inboxPrefix({ role: 'writer', cluster: config.cluster }),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const js = jetstream(nc);
  // This cluster's results bucket, opened when a result first names it (scanners create it with the
  // first result too large for a message); the only one this writer may read.
  let bucket: Promise<BlobStore> | undefined;
  const blobs: Pick<BlobStore, 'get'> = {
    async get(schema, key) {
      bucket ??= openBlobStore(js, { bucket: resultsBucket(config.cluster) });
      const b = await bucket.catch((err: unknown) => {
        bucket = undefined;
        throw err;
      });
      return b.get(schema, key);
    },
  };
  const api = createReportApi(kc);
  cleanup = createCleanup({
    inventory,
    ownerKinds: new Set<string>([...OWNER_KINDS, ...config.resourceKinds]),
    api,
    metrics,
    logger,
  });
  const stopSweep = timers.every(config.cleanupIntervalMs, () => {
    if (inventorySynced) void cleanup?.sweep();
  });
  // The failure state (scan-failures.ts) lives in the cluster's failures bucket, opened with the
  // topology below, before any result is consumed.
  let failureStore: (FailureStore & { stop(): Promise<void> }) | undefined;
  let scanFailures: ScanFailures | undefined;
  const openedFailures = (): ScanFailures => {
    if (!scanFailures) throw new Error('the scan failures bucket is not open yet');
    return scanFailures;
  };
  registerFailingImages(registry, () => scanFailures?.failing().values() ?? []);
  const reconciler = createReconciler({
    inventory,
    blobs,
    api,
    metrics,
    logger,
    settings: {
      ttlSeconds: config.reportTtlSeconds,
      maxReportBytes: config.maxReportBytes,
      ...config.reportLabels,
    },
    sbomReports: config.sbomReports,
    writeConcurrency: config.writeConcurrency,
    bulkWritesInFlight: config.bulkWritesInFlight,
    clock,
    timers,
    failures: {
      failed: (r, owners) => openedFailures().failed(r, owners),
      succeeded: (r) => openedFailures().succeeded(r),
    },
  });

  if (config.compliance.enabled) {
    compliance = createComplianceLoop({
      io: createComplianceIo(kc),
      clock,
      timers,
      logger,
      metrics: complianceMetrics,
      failEntriesLimit: config.compliance.failEntriesLimit,
      checkIntervalMs: config.compliance.checkIntervalMs,
    });
    compliance.start();
  }

  const abort = new AbortController();
  const stopHealth = timers.every(1000, () => {
    const h = inventory.health();
    readiness.set('watches', h.ok, h.reasons.join('; '));
  });
  // Counted from the stream: the consumer's own counts leave out a message JetStream stopped delivering.
  const stopLag = timers.every(5000, () => {
    Promise.all(
      LANES.map((l) => pendingMessages(jsm, STREAM_RESULTS, subjects.resultsFor(config.cluster, l))),
    ).then(
      (counts) => metrics.lag.set(counts.reduce((a, n) => a + n, 0)),
      () => {},
    );
  });

  // Results are independent (one report, or one image's fan-out): handle several at once so the API
  // round trips overlap; a late result never replaces a newer report (write-queue.ts). Each lane has
  // its own consumer and slots: an urgent result (a new workload's) is written at once even while a
  // fleet-wide refresh or the install backlog fills the bulk lane.
  const results: Consumption[] = [];
  const consumeLane = (lane: Lane) => {
    const imageSubject = subjects.resultImage(config.cluster, lane);
    const configSubject = subjects.resultConfig(config.cluster, lane);
    // A result naming another cluster than its subject's is poison (forSubject).
    const ImageResult = forSubject(ImageScanResultSchema, imageSubject).transform((r) => ({
      type: 'image' as const,
      r,
    }));
    const ConfigResult = forSubject(ConfigAuditResultSchema, configSubject).transform((r) => ({
      type: 'config' as const,
      r,
    }));
    return consume<Result>({
      js,
      stream: STREAM_RESULTS,
      consumer: writerConsumer(config.cluster, lane),
      schemaFor: (subject) =>
        subject === imageSubject ? ImageResult : subject === configSubject ? ConfigResult : undefined,
      handle: async (m, at) => {
        try {
          return m.type === 'image' ? await reconciler.image(m.r, at) : await reconciler.config(m.r, at);
        } catch (err) {
          metrics.failures.inc({ reason: 'reconcile' });
          throw err;
        }
      },
      concurrency: config.writeConcurrency,
      metrics: metrics.consume,
      logger,
      signal: abort.signal,
      clock,
      deadLetters: createDeadLetters({ js }),
      // Its consumer deleted (by an operator, or a stream re-created): a pull then fails in one of
      // several ways (no responders, consumer deleted, a missed heartbeat), so the consumer is looked
      // up, and asked for again when it is gone.
      onPullFailure: () => {
        const name = writerConsumer(config.cluster, lane);
        jsm.consumers.info(STREAM_RESULTS, name).catch((err: unknown) => {
          if (isNotFound(err)) void reprovision.ask('consumer', `${name}: ${(err as Error).message}`);
        });
      },
      onTerm: (t) => {
        if (t.ending === 'invalid') {
          metrics.results.inc({ type: t.subject.split('.').at(-2) ?? 'unknown', outcome: 'invalid' });
        }
      },
    });
  };
  // The scanners own every stream and consumer: this writer's consumers and its failures bucket are
  // made by one of them when it asks on its cluster's provisioning subject (it may create nothing:
  // a create's body could name any subjects or push delivery anywhere), at start and when one is
  // found missing. Asked until answered, with backoff; readiness says why it waits.
  const provision = () =>
    requestProvision({
      nc,
      cluster: config.cluster,
      signal: abort.signal,
      timers,
      // After start-up, an episode's reason names what went missing (reprovision.explain).
      onWaiting: (reason) => readiness.set('topology', false, reprovision.explain(reason)),
    });
  let bound = false;
  // A consumer or the failures bucket found gone later: one retry chain at a time, counted and
  // logged once per episode, /readyz false with the reason until the scanners answered.
  const reprovision = createReprovision({
    provision: async () => {
      const ok = await provision();
      // What the wait said in /readyz is over once answered (after start-up only).
      if (ok && bound) readiness.set('topology', true);
      return ok;
    },
    logger,
    onEpisode: (resource) => metrics.reprovisions.inc({ resource }),
    onMissing: (reason) => readiness.set('topology', false, reason),
  });
  const loop = (async () => {
    const ready = await waitForStreams(js, [STREAM_RESULTS, STREAM_DEAD], {
      signal: abort.signal,
      onWaiting: (reason) => readiness.set('topology', false, reason),
    });
    if (!ready) return;
    readiness.set('topology', false, `asking the scanners for ${writerConsumer(config.cluster)}`);
    if (!(await provision())) return;
    readiness.set('failures', false, `opening ${failuresBucket(config.cluster)}`);
    let store: Awaited<ReturnType<typeof openFailureStore>> | undefined;
    for (let attempt = 0; !store; attempt++) {
      try {
        store = await openFailureStore({
          js,
          cluster: config.cluster,
          timers,
          logger,
          onReadFailure: () => metrics.failures.inc({ reason: 'failures_read' }),
          onGone: (why) => void reprovision.ask('failures', why),
        });
      } catch (err) {
        // Gone between the answer and the open: asked for again.
        if (!isNotFound(err)) throw err;
        await pause(timers, backoff(attempt, 500, 10_000), abort.signal);
        if (abort.signal.aborted || !(await provision())) return;
      }
    }
    failureStore = store;
    await store.loaded;
    if (abort.signal.aborted) return;
    scanFailures = createScanFailures({
      store,
      events: createEventApi(kc),
      reports: api,
      inventory,
      metrics,
      logger,
      cluster: config.cluster,
      backoff: config.failedScanRetry,
    });
    readiness.set('failures', true);
    readiness.set('topology', true);
    bound = true;
    await inventory.synced;
    inventorySynced = true;
    readiness.set('watches', true);
    for (const lane of LANES) {
      if (abort.signal.aborted) return;
      results.push(await consumeLane(lane));
    }
  })();

  loop.catch((err: unknown) => {
    readiness.set('topology', false, `cannot bind the results consumer: ${(err as Error).message}`);
    logger.error({ err: (err as Error).message }, 'results consumer failed to start');
  });

  logger.info({ cluster: config.cluster, metricsPort: ops.port }, 'writer started');
  return {
    metricsPort: ops.port,
    registry,
    async stop() {
      abort.abort();
      stopSweep();
      stopHealth();
      stopLag();
      await compliance?.stop();
      await loop.catch(() => {});
      await Promise.all(results.map((r) => r.stop()));
      await failureStore?.stop();
      await reconciler.stop();
      await inventory.stop();
      await nc.drain();
      await ops.close();
      if (!deps.kubeConnection) kc.close();
      logger.info('writer stopped');
    },
  };
}
