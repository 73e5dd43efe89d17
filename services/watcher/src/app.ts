import {
  connectBus,
  createReprovision,
  inboxPrefix,
  manifestsBucket,
  requestProvision,
  STATE_BUCKET,
  STREAM_FLEET,
  STREAM_SCAN,
  waitForStreams,
} from '@fleetscan/bus';
import { createInventory, createManifestSource } from '@fleetscan/inventory';
import { createTransport, type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import {
  type Clock,
  createReadiness,
  createServiceRegistry,
  type Logger,
  startOpsServer,
  systemClock,
  systemTimers,
  type Timers,
} from '@fleetscan/service';
import { jetstream } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { createAsks } from './asks.ts';
import type { WatcherConfig } from './config.ts';
import { createCredentialSource } from './credentials.ts';
import { createFailureHolds } from './failure-holds.ts';
import { followFailures } from './failures-bucket.ts';
import { createScope } from './filters.ts';
import { followFleetDb } from './fleet-db.ts';
import { createInventoryFeed } from './inventory-feed.ts';
import { createManifestsBucket } from './manifests-bucket.ts';
import { createWatcherMetrics } from './metrics.ts';
import { createOwnerSettings } from './owner-settings.ts';
import { createQueueView } from './queue-view.ts';
import { createRequestPublisher } from './requests.ts';
import { createScheduler } from './scheduler.ts';

export interface WatcherDeps {
  config: WatcherConfig;
  logger: Logger;
  /** The API server; loaded from config.kubeconfigPath (or in-cluster) when omitted, and then closed on stop. */
  kubeConnection?: KubeConnection;
  clock?: Clock;
  timers?: Timers;
  registry?: Registry;
}

export interface RunningWatcher {
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/**
 * Wires the watcher: the inventory's watches feed the scheduler (`scheduler.ts`), which decides
 * what to ask for and when; the asks go out through the request publisher (`requests.ts`).
 */
export async function startWatcher(deps: WatcherDeps): Promise<RunningWatcher> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const registry = deps.registry ?? createServiceRegistry();
  // One watcher per cluster: every series it serves is that cluster's.
  registry.setDefaultLabels({ cluster: config.cluster });
  const metrics = createWatcherMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  readiness.set('watches', false, 'initial list');
  readiness.set('topology', false, `waiting for stream ${STREAM_SCAN}`);
  const nc = await connectBus({
    servers: config.nats.servers,
    name: `fleetscan-watcher-${config.cluster}`,
    ...(config.nats.auth && { auth: config.nats.auth }),
    ...(config.nats.tls && { tls: config.nats.tls }),
    inboxPrefix: inboxPrefix({ role: 'watcher', cluster: config.cluster }),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const js = jetstream(nc);
  const abort = new AbortController();
  // The scanners make this cluster's resources (its manifests bucket, its failures bucket and the
  // writer's consumers) when asked on its provisioning subject: the watcher may create no stream
  // (a create's body could name any subjects). Asked at start and when the bucket is found missing.
  let topologyReady = false;
  const provision = async () => {
    const ok = await requestProvision({
      nc,
      cluster: config.cluster,
      signal: abort.signal,
      timers,
      // After start-up, an episode's reason names what went missing (reprovision.explain).
      onWaiting: (reason) => readiness.set('topology', false, reprovision.explain(reason)),
    });
    // Asked again after start-up (the bucket found missing): what the wait said is over.
    if (ok && topologyReady) readiness.set('topology', true);
    return ok;
  };
  // A bucket found gone after start: one retry chain at a time, counted and logged once per episode.
  const reprovision = createReprovision({
    provision,
    logger,
    onEpisode: (resource) => metrics.reprovisions.inc({ resource }),
    onMissing: (reason) => readiness.set('topology', false, reason),
  });
  const settings = createOwnerSettings({
    scanners: config.scanners,
    settings: config.settings,
    ignorePolicies: config.ignorePolicies,
    configAudit: config.configAudit,
  });
  const scope = createScope(config.scope);
  const queueView = createQueueView({
    streams: (await js.jetstreamManager(false)).streams,
    cluster: config.cluster,
    timers,
    logger,
  });
  const publisher = createRequestPublisher({
    js,
    cluster: config.cluster,
    queued: queueView.queued,
    now: () => clock.now(),
    retryAfterMs: config.retryAfterMs,
    onPublishLatency: (s) => metrics.publishLatency.observe(s),
    onForget: (reason, n) => metrics.requestsForgotten.inc({ reason }, n),
  });
  const kc =
    deps.kubeConnection ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath, proxy: config.kubeProxy });
  if (kc.proxy)
    logger.info({ server: kc.server, proxy: kc.proxy }, 'reaching the API server through a proxy');
  const kube = createTransport(kc);
  const credentials = createCredentialSource({
    kube,
    ...(config.scannerPublicKey ? { publicKeyPem: config.scannerPublicKey } : {}),
  });
  if (!config.scannerPublicKey) {
    logger.info('SCANNER_PUBLIC_KEY_FILE not set: images are scanned without pull-secret credentials');
  }

  // Each owner's containers and images for the fleet view, on the fleet stream (issue 15).
  const feed = createInventoryFeed({
    cluster: config.cluster,
    publish: async (subject, data, ttl) => {
      await js.publish(subject, data, ttl ? { ttl } : {});
    },
    clock,
    timers,
    logger,
    onPublished: (type) => metrics.inventoryPublished.inc({ type }),
    onFailure: () => metrics.failures.inc({ reason: 'inventory_publish' }),
  });
  const inventory = createInventory({
    kc,
    logger,
    resourceKinds: config.resourceKinds,
    // The plan reads labels and annotations only; findings are most of a report's bytes.
    reportsMetadataOnly: true,
    events: {
      onOwner: (key, owner, previous) => {
        metrics.objectsSeen.inc({ kind: owner?.kind ?? 'owner', event: owner ? 'UPSERT' : 'DELETED' });
        scheduler.ownerChanged(key, owner, previous);
        feed.ownerChanged(owner, previous);
      },
      onReport: (type, r) => {
        metrics.objectsSeen.inc({ kind: r.kind, event: type });
        scheduler.reportChanged(type, r);
      },
    },
  });
  // The writer's failure records: requests for an image whose scans fail wait for its retryAt.
  readiness.set('failures', false, 'looking for the scan failures bucket');
  const failures = followFailures({
    js,
    cluster: config.cluster,
    timers,
    logger,
    onState: (ok, detail) => readiness.set('failures', ok, detail),
    onRecord: (record) => holds.recorded(record),
    onRemoved: (record) => holds.removed(record),
    onFailure: () => metrics.failures.inc({ reason: 'failures_read' }),
    onGone: (why) => void reprovision.ask('failures', why),
  });
  const holds = createFailureHolds({
    records: failures,
    clock,
    timers,
    onDue: (namespace, image) => scheduler.imageDue(namespace, image),
  });
  const scheduler = createScheduler({
    clock,
    timers,
    inventory,
    scope,
    settings,
    requests: publisher,
    asks: createAsks({
      publisher,
      credentials,
      manifests: createManifestSource(kube),
      blobs: createManifestsBucket(js, config.cluster, (why) => reprovision.ask('manifests', why)),
      auditReports: (o) => scope.auditReports(o),
      cluster: config.cluster,
      scanners: config.scanners,
      settings,
      metrics,
      logger,
      holds,
    }),
    timing: {
      resyncMs: config.resyncMs,
      tagRecheckMs: config.tagRecheckMs,
      refresh: config.refresh,
    },
    logger,
    metrics,
  });

  // The scanners own the topology: requests are asked for once their stream (and the fleet state
  // bucket) exist and they provisioned this cluster; until then /readyz says what is missing.
  let dbFollow: { stop(): Promise<void> } | undefined;
  const topology = (async () => {
    const ready = await waitForStreams(js, [STREAM_SCAN, STREAM_FLEET, `KV_${STATE_BUCKET}`], {
      signal: abort.signal,
      onWaiting: (reason) => readiness.set('topology', false, reason),
    });
    if (!ready) return false;
    readiness.set('topology', false, `asking the scanners for ${manifestsBucket(config.cluster)}`);
    if (!(await provision())) return false;
    // The scanner fleet's DB version: reports matched against an older one are refreshed. Read
    // with direct gets (fleet-db.ts): the watcher's identity may create no consumer.
    const jsm = await js.jetstreamManager(false);
    if (abort.signal.aborted) return false;
    dbFollow = followFleetDb({
      direct: jsm.direct,
      timers,
      logger,
      onVersion: (v) => scheduler.dbVersion(v),
      onFailure: () => metrics.failures.inc({ reason: 'fleet_db_read' }),
    });
    readiness.set('topology', true);
    topologyReady = true;
    return true;
  })();
  topology.catch((err: unknown) => {
    readiness.set('topology', false, `cannot open the fleet state: ${(err as Error).message}`);
    logger.error({ err: (err as Error).message }, 'cannot open the fleet state bucket');
  });

  inventory.start();
  const stopHealth = timers.every(1000, () => {
    const h = inventory.health();
    readiness.set('watches', h.ok, h.reasons.join('; '));
    metrics.owners.set(inventory.owners().length);
    metrics.refreshQueue.set(scheduler.held.refreshQueue);
    metrics.requestMemory.set({ state: 'all' }, publisher.remembered.size);
    metrics.requestMemory.set({ state: 'pending' }, publisher.remembered.pending);
    metrics.inventoryPending.set(feed.pending);
  });
  void inventory.synced.then(
    async () => {
      readiness.set('watches', true);
      // After a restart, what the writer recorded is held from the first evaluation on.
      await failures.opened;
      if (await topology.catch(() => false)) {
        scheduler.synced();
        feed.synced(inventory.owners());
      }
    },
    // Stopped before the first list: nothing to evaluate.
    () => {},
  );

  logger.info({ cluster: config.cluster, metricsPort: ops.port }, 'watcher started');
  return {
    metricsPort: ops.port,
    registry,
    async stop() {
      stopHealth();
      feed.stop();
      queueView.stop();
      abort.abort();
      await dbFollow?.stop();
      await inventory.stop();
      await scheduler.stop();
      holds.stop();
      await failures.stop();
      await nc.drain();
      await ops.close();
      if (!deps.kubeConnection) kc.close();
      logger.info('watcher stopped');
    },
  };
}
