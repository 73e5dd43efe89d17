import { connectBus, ensureStreams, STATE_BUCKET, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import { createInventory, type Owner, ownerKey, ownerManifest, type ReportRef } from '@fleetscan/inventory';
import { createTransport, type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import { CONFIG_AUDIT_REPORT, VULNERABILITY_REPORT } from '@fleetscan/reports';
import { type Clock, createReadiness, type Logger, startOpsServer, systemClock } from '@fleetscan/service';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Registry } from 'prom-client';
import type { WatcherConfig } from './config.ts';
import { createCredentialSource } from './credentials.ts';
import { createScope } from './filters.ts';
import { createWatcherMetrics } from './metrics.ts';
import { type ImageNeed, isUrgent, planOwner } from './plan.ts';
import { createRefreshQueue } from './refresh.ts';
import { createRequestPublisher } from './requests.ts';
import { settingsHashes } from './settings.ts';

export interface WatcherDeps {
  config: WatcherConfig;
  logger: Logger;
  /** The API server; loaded from config.kubeconfigPath (or in-cluster) when omitted, and then closed on stop. */
  kubeConnection?: KubeConnection;
  clock?: Clock;
  registry?: Registry;
}

export interface RunningWatcher {
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

type Refresh =
  | { kind: 'image'; owner: Owner; need: ImageNeed; purpose: string }
  | { kind: 'config'; owner: Owner; purpose: string };

/**
 * Wires the watcher: the inventory's watches feed a set of owners to
 * re-evaluate; each evaluation compares the owner with its reports and
 * publishes only the work that is missing — at once for workloads without a
 * current report, in bounded batches for refreshes.
 */
/** First look 5 s after a report lands, then 10, 20, 40, 80 s while owners still wait. */
const SHARER_RECHECK_MS = 5000;
const SHARER_RECHECKS = 4;

export async function startWatcher(deps: WatcherDeps): Promise<RunningWatcher> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? new Registry();
  const metrics = createWatcherMetrics(registry);
  const readiness = createReadiness();
  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  readiness.set('nats', false, 'connecting');
  readiness.set('watches', false, 'initial list');
  const nc = await connectBus({
    url: config.nats.url,
    name: `fleetscan-watcher-${config.cluster}`,
    ...(config.nats.user ? { user: config.nats.user, pass: config.nats.pass } : {}),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  await ensureStreams(await jetstreamManager(nc));
  const js = jetstream(nc);
  const hashes = settingsHashes(config.scanners, config.settings);
  const scope = createScope(config.scope);
  const publisher = createRequestPublisher({
    js,
    cluster: config.cluster,
    now: () => clock.now(),
    retryAfterMs: config.retryAfterMs,
    shareWindowMs: 30_000,
    onPublishLatency: (s) => metrics.publishLatency.observe(s),
  });
  const kc =
    deps.kubeConnection ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath, proxy: config.kubeProxy });
  if (kc.proxy)
    logger.info({ server: kc.server, proxy: kc.proxy }, 'reaching the API server through a proxy');
  const credentials = createCredentialSource({
    kube: createTransport(kc),
    ...(config.scannerPublicKey ? { publicKeyPem: config.scannerPublicKey } : {}),
  });
  if (!config.scannerPublicKey) {
    logger.info('SCANNER_PUBLIC_KEY_FILE not set: images are scanned without pull-secret credentials');
  }

  // The scanner fleet's DB version: reports matched against an older one are refreshed.
  let dbUpdatedAt: string | undefined;
  const state = await new Kvm(js).create(STATE_BUCKET);
  const dbWatch = await state.watch({ key: STATE_KEY_TRIVY_DB });
  void (async () => {
    for await (const e of dbWatch) {
      const v = e.operation === 'PUT' ? e.string() : undefined;
      if (v && v !== dbUpdatedAt) {
        logger.info(
          { from: dbUpdatedAt, to: v },
          'trivy DB version changed; refreshing vulnerability reports',
        );
        dbUpdatedAt = v;
        markAllDirty();
      }
    }
  })();

  const dirty = new Set<string>();
  let synced = false;
  let flushing: Promise<void> | undefined;

  const requestKeys = (owner: Owner, r: ReportRef): string[] => {
    if (r.kind === CONFIG_AUDIT_REPORT.kind)
      return [publisher.configKey(owner.uid, owner.specHash, hashes.pluginConfigHash)];
    const image = owner.containers.find((c) => c.name === r.container)?.image;
    return image ? [publisher.imageKey(owner.namespace, image, hashes.scanConfigHash)] : [];
  };

  const inventory = createInventory({
    kc,
    logger,
    // The plan reads labels and annotations only; findings are most of a report's bytes.
    reportsMetadataOnly: true,
    events: {
      onOwner: (key, owner) => {
        metrics.objectsSeen.inc({ kind: owner?.kind ?? 'owner', event: owner ? 'UPSERT' : 'DELETED' });
        if (owner) markDirty(key);
      },
      onReport: (type, r) => {
        metrics.objectsSeen.inc({ kind: r.kind, event: type });
        const owner = r.ownerUid ? inventory.ownerByUid(r.ownerUid) : undefined;
        if (!owner) return;
        // A report that appears answers its request; one deleted asks for a new one (trivy-operator's rescan).
        for (const key of requestKeys(owner, r)) publisher.retry(key);
        if (type === 'DELETED') markDirty(ownerKey(owner));
        else if (type === 'ADDED' && r.kind === VULNERABILITY_REPORT.kind) {
          const image = owner.containers.find((c) => c.name === r.container)?.image;
          if (image) recheckSharers(owner.namespace, image);
        }
      },
    },
  });

  const refresh = createRefreshQueue<Refresh>({
    batchSize: config.refresh.batchSize,
    intervalMs: config.refresh.intervalMs,
    send: async (item) => {
      // The owner may have changed or gone while queued: publish only for what exists now.
      const owner = inventory.owner(ownerKey(item.owner));
      if (!owner || owner.uid !== item.owner.uid) return;
      if (item.kind === 'config') await publishConfig(owner, item.purpose);
      else await publishImage(owner, item.need, item.purpose);
    },
    onError: (err) => {
      metrics.failures.inc({ reason: 'publish' });
      logger.warn({ err: String(err) }, 'publishing a refresh failed');
    },
  });

  /**
   * An owner that appeared while its image's request was pending may have missed the writer's
   * fan-out (the writer had not seen it yet). Once a report for the image lands, re-check the
   * namespace's other owners of that image, debounced; while some still lack their report, ask
   * again with a new request id (the last answer missed them) and look again with backoff — a
   * fan-out that only rewrites unchanged reports produces no event to wake us otherwise.
   */
  const sharers = new Map<string, NodeJS.Timeout>();
  function recheckSharers(namespace: string, image: string, attempt = 0): void {
    const key = `${namespace}/${image}`;
    clearTimeout(sharers.get(key));
    const timer = setTimeout(
      () => {
        sharers.delete(key);
        const waiting = inventory
          .ownersUsingImage(image)
          .filter((o) => o.namespace === namespace && scope.ownerInScope(o) && lacksReportFor(o, image));
        if (waiting.length === 0) return;
        publisher.retry(publisher.imageKey(namespace, image, hashes.scanConfigHash));
        for (const o of waiting) markDirty(ownerKey(o));
        if (attempt < SHARER_RECHECKS) recheckSharers(namespace, image, attempt + 1);
      },
      SHARER_RECHECK_MS * 2 ** attempt,
    );
    timer.unref();
    sharers.set(key, timer);
  }
  const lacksReportFor = (owner: Owner, image: string) =>
    planFor(owner).images.some((n) => n.image === image && n.reason === 'missing');

  function markDirty(key: string): void {
    dirty.add(key);
    if (synced && !flushing) flushing = flushSoon();
  }
  function markAllDirty(): void {
    for (const o of inventory.owners()) markDirty(ownerKey(o));
  }

  async function flushSoon(): Promise<void> {
    // Let a burst of events (a re-list, a rollout) collapse into one pass.
    await new Promise((r) => setTimeout(r, 50));
    try {
      while (dirty.size > 0) {
        const keys = [...dirty];
        dirty.clear();
        for (const key of keys) {
          const owner = inventory.owner(key);
          if (owner && scope.ownerInScope(owner)) await evaluate(owner);
        }
      }
    } finally {
      flushing = undefined;
    }
  }

  async function publishConfig(owner: Owner, purpose: string): Promise<void> {
    const outcome = await publisher.config({
      owner: {
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        namespace: owner.namespace,
        name: owner.name,
        uid: owner.uid,
      },
      specHash: owner.specHash,
      pluginConfigHash: hashes.pluginConfigHash,
      manifest: ownerManifest(owner),
    });
    metrics.requests.inc({ type: 'config', outcome });
    if (purpose) metrics.refreshes.inc({ type: 'config', reason: purpose.split(':')[0] ?? purpose });
  }

  async function publishImage(owner: Owner, need: ImageNeed, purpose: string): Promise<void> {
    const sealed = await credentials.sealedFor(owner, need.image, config.cluster);
    const outcome = await publisher.image(
      {
        namespace: owner.namespace,
        image: need.image,
        scanners: config.scanners,
        settings: config.settings,
        scanConfigHash: hashes.scanConfigHash,
        ...(need.digest ? { digest: need.digest } : {}),
        ...(need.notBefore ? { notBefore: need.notBefore } : {}),
        ...(sealed ? { credentials: sealed } : {}),
      },
      purpose,
    );
    metrics.requests.inc({ type: 'image', outcome });
    if (purpose) metrics.refreshes.inc({ type: 'image', reason: purpose.split(':')[0] ?? purpose });
  }

  function planFor(owner: Owner) {
    return planOwner(owner, scope.containers(owner), inventory.report, {
      hashes,
      nowMs: clock.now().getTime(),
      secrets: config.scanners.includes('secret'),
      ...(dbUpdatedAt ? { dbUpdatedAt } : {}),
    });
  }

  async function evaluate(owner: Owner): Promise<void> {
    metrics.evaluations.inc();
    const plan = planFor(owner);
    try {
      if (plan.config && isUrgent(plan.config)) await publishConfig(owner, '');
      else if (plan.config) {
        const purpose = `${plan.config}:${owner.uid}`;
        refresh.add(`cfg/${owner.uid}/${plan.config}`, { kind: 'config', owner, purpose });
      }
      const seen = new Set<string>();
      for (const need of plan.images) {
        if (isUrgent(need.reason)) {
          if (seen.has(need.image)) continue;
          seen.add(need.image);
          await publishImage(owner, need, '');
          continue;
        }
        // One refresh per image and trigger in a namespace, however many owners share it.
        const purpose = `${need.reason}:${need.digest ?? ''}:${need.notBefore ?? ''}:${need.reason === 'db' ? dbUpdatedAt : ''}`;
        refresh.add(`img/${owner.namespace}/${need.image}/${purpose}`, {
          kind: 'image',
          owner,
          need,
          purpose,
        });
      }
    } catch (err) {
      metrics.failures.inc({ reason: 'publish' });
      logger.warn(
        { owner: ownerKey(owner), err: String(err) },
        'publishing scan requests failed; will retry',
      );
      setTimeout(() => markDirty(ownerKey(owner)), 2000).unref();
    }
  }

  inventory.start();
  const health = setInterval(() => {
    const h = inventory.health();
    readiness.set('watches', h.ok, h.reasons.join('; '));
    metrics.owners.set(inventory.owners().length);
    metrics.refreshQueue.set(refresh.size);
  }, 1000);
  health.unref();
  const resync = setInterval(markAllDirty, config.resyncMs);
  resync.unref();
  // A re-pushed tag is noticed by asking again: the scanner resolves the tag, and a new digest means a new scan.
  let recheckEpoch = 0;
  const recheck =
    config.tagRecheckMs > 0
      ? setInterval(() => {
          recheckEpoch++;
          const seen = new Set<string>();
          for (const owner of inventory.owners()) {
            if (!scope.ownerInScope(owner)) continue;
            for (const c of scope.containers(owner)) {
              const key = `${owner.namespace}/${c.image}`;
              if (seen.has(key)) continue;
              seen.add(key);
              const purpose = `recheck:${recheckEpoch}`;
              refresh.add(`img/${key}/${purpose}`, {
                kind: 'image',
                owner,
                need: { container: c.name, image: c.image, reason: 'ttl' },
                purpose,
              });
            }
          }
        }, config.tagRecheckMs)
      : undefined;
  recheck?.unref();

  void inventory.synced.then(() => {
    synced = true;
    readiness.set('watches', true);
    for (const o of inventory.owners()) dirty.add(ownerKey(o));
    logger.info({ owners: dirty.size }, 'initial list complete; evaluating owners');
    flushing = flushSoon();
  });

  logger.info({ cluster: config.cluster, metricsPort: ops.port }, 'watcher started');
  return {
    metricsPort: ops.port,
    registry,
    async stop() {
      clearInterval(health);
      clearInterval(resync);
      for (const t of sharers.values()) clearTimeout(t);
      if (recheck) clearInterval(recheck);
      refresh.stop();
      dbWatch.stop();
      await inventory.stop();
      await flushing;
      await nc.drain();
      await ops.close();
      if (!deps.kubeConnection) kc.close();
      logger.info('watcher stopped');
    },
  };
}
