import { connectBus, ensureStreams } from '@fleetscan/bus';
import { createInventory, type Owner, ownerKey, ownerManifest, type ReportRef } from '@fleetscan/inventory';
import { loadKubeConfig } from '@fleetscan/kube';
import { CONFIG_AUDIT_REPORT } from '@fleetscan/reports';
import { type Clock, createReadiness, type Logger, startOpsServer, systemClock } from '@fleetscan/service';
import type { KubeConfig } from '@kubernetes/client-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import type { WatcherConfig } from './config.ts';
import { createWatcherMetrics } from './metrics.ts';
import { planOwner } from './plan.ts';
import { createRequestPublisher } from './requests.ts';
import { settingsHashes } from './settings.ts';

export interface WatcherDeps {
  config: WatcherConfig;
  logger: Logger;
  kubeConfig?: KubeConfig;
  clock?: Clock;
  registry?: Registry;
}

export interface RunningWatcher {
  readonly metricsPort: number;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/**
 * Wires the watcher: the inventory's watches feed a set of owners to
 * re-evaluate; each evaluation compares the owner with its reports and
 * publishes only the work that is missing.
 */
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
  const hashes = settingsHashes(config.settings);
  const publisher = createRequestPublisher({
    js: jetstream(nc),
    cluster: config.cluster,
    now: () => clock.now(),
    retryAfterMs: config.retryAfterMs,
    shareWindowMs: 30_000,
    onPublishLatency: (s) => metrics.publishLatency.observe(s),
  });

  const dirty = new Set<string>();
  let synced = false;
  let flushing: Promise<void> | undefined;
  const kc = deps.kubeConfig ?? loadKubeConfig({ kubeconfigPath: config.kubeconfigPath });

  const onReport = (type: string, r: ReportRef) => {
    metrics.objectsSeen.inc({ kind: r.kind, event: type });
    const owner = r.ownerUid ? inventory.ownerByUid(r.ownerUid) : undefined;
    if (!owner) return;
    // A report that appears answers its request; one deleted asks for a new one (trivy-operator's rescan).
    for (const key of requestKeys(owner, r)) publisher.retry(key);
    if (type === 'DELETED') markDirty(ownerKey(owner));
  };

  const requestKeys = (owner: Owner, r: ReportRef): string[] => {
    if (r.kind === CONFIG_AUDIT_REPORT.kind) {
      return [publisher.configKey(owner.uid, owner.specHash, hashes.pluginConfigHash)];
    }
    const image = owner.containers.find((c) => c.name === r.container)?.image;
    return image ? [publisher.imageKey(image, hashes.scanConfigHash)] : [];
  };

  const inventory = createInventory({
    kc,
    logger,
    events: {
      onOwner: (key, owner) => {
        metrics.objectsSeen.inc({ kind: owner?.kind ?? 'owner', event: owner ? 'UPSERT' : 'DELETED' });
        if (owner) markDirty(key);
      },
      onReport,
    },
  });

  function markDirty(key: string): void {
    dirty.add(key);
    if (synced && !flushing) flushing = flushSoon();
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
          if (owner) await evaluate(owner);
        }
      }
    } finally {
      flushing = undefined;
    }
  }

  async function evaluate(owner: Owner): Promise<void> {
    metrics.evaluations.inc();
    const plan = planOwner(owner, inventory.report, hashes);
    try {
      if (plan.config) {
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
      }
      for (const image of new Set(plan.images.map((i) => i.image))) {
        const outcome = await publisher.image({
          image,
          scanners: config.settings.scanners,
          scanConfigHash: hashes.scanConfigHash,
        });
        metrics.requests.inc({ type: 'image', outcome });
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
  }, 1000);
  health.unref();
  const resync = setInterval(() => {
    for (const o of inventory.owners()) markDirty(ownerKey(o));
  }, config.resyncMs);
  resync.unref();

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
      await inventory.stop();
      await flushing;
      await nc.drain();
      await ops.close();
      logger.info('watcher stopped');
    },
  };
}
