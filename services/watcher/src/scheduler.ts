import type { Lane } from '@fleetscan/bus';
import { type Inventory, type Owner, ownerKey, type ReportRef } from '@fleetscan/inventory';
import { isAuditReportKind, VULNERABILITY_REPORT } from '@fleetscan/reports';
import type { Clock, Logger, Timers } from '@fleetscan/service';
import { createEvaluationPasses } from './evaluation-passes.ts';
import { createFanoutRecheck } from './fanout-recheck.ts';
import type { Scope } from './filters.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { OwnerSettings } from './owner-settings.ts';
import { type ImageNeed, isUrgent, type OwnerPlan, planOwner } from './plan.ts';
import { createRefreshQueue } from './refresh.ts';
import type { RequestPublisher } from './requests.ts';

/** What the scheduler reads of the cluster: the inventory's owners and reports. */
export type OwnerIndex = Pick<Inventory, 'owners' | 'owner' | 'ownerByUid' | 'ownersUsingImage' | 'report'>;

/** Turns a decision into a request message (credentials, the message itself, counting): the wiring's part. */
export interface Asks {
  /**
   * `purpose` is empty for work that cannot wait for the refresh queue (no current report), else
   * the refresh it is for; `lane` is the subject's (urgent: asked because of a change seen while
   * watching; bulk: found by the watcher on its own).
   */
  image(owner: Owner, need: ImageNeed, purpose: string, lane: Lane): Promise<void>;
  config(owner: Owner, purpose: string, lane: Lane): Promise<void>;
}

export interface SchedulerTiming {
  /** Every owner is re-evaluated this often. */
  resyncMs: number;
  /** Tags are resolved again this often, to notice re-pushed tags (0 = never). */
  tagRecheckMs: number;
  /** Refreshes go out `batchSize` per `intervalMs`. */
  refresh: { batchSize: number; intervalMs: number };
  /** Events arriving within this collapse into one pass (a re-list, a rollout). */
  flushDelayMs?: number;
  /** An owner whose requests could not be published is evaluated again after this. */
  publishRetryMs?: number;
  /** Re-checks of an image's other owners after a report lands: first after this, then doubling… */
  sharerRecheckMs?: number;
  /** …this many more times while some still lack their report (5, 10, 20, 40, 80 s). */
  sharerRechecks?: number;
  /** The request memory is swept this often. */
  sweepMs?: number;
}

export interface Scheduler {
  /** The inventory's owner event: an owner appeared or changed (`owner`), or is gone. */
  ownerChanged(key: string, owner: Owner | undefined, previous: Owner | undefined): void;
  /** The inventory's report event. */
  reportChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', report: ReportRef): void;
  /** The scanner fleet's trivy DB version (KV `fleetscan-state`). */
  dbVersion(version: string): void;
  /** Every watch has listed once: evaluate everything, and from now on every change. */
  synced(): void;
  /** An image held because its scans failed may be asked for again: its owners in the namespace are evaluated. */
  imageDue(namespace: string, image: string): void;
  /** What the scheduler holds, for metrics and for tests that check it stays bounded. */
  readonly held: {
    readonly dirty: number;
    readonly refreshQueue: number;
    readonly sharerRechecks: number;
    readonly publishRetries: number;
  };
  /** Stops every timer; resolves when a pass under way has stopped. */
  stop(): Promise<void>;
}

type Refresh =
  | { kind: 'image'; owner: Owner; need: ImageNeed; purpose: string }
  | { kind: 'config'; owner: Owner; purpose: string };

/**
 * When the watcher asks for what. The inventory's events mark owners dirty; passes
 * (`evaluation-passes.ts`) evaluate each against its reports (`plan.ts`) and ask for what is
 * missing — what has no current report at once, refreshes (settings, TTL, DB, tag re-checks)
 * through the batched refresh queue (`refresh.ts`). Each ask has a lane: owners that changed after
 * the first list, and reports deleted, are urgent (evaluated first, asked on the urgent subjects);
 * the first list's backlog, resyncs and refreshes are bulk, so a new workload never queues behind
 * them. Around that: the resync, the tag re-check
 * epochs, a new DB version marking everything dirty, a retry after a failed publish, the re-check
 * of an image's other owners after a fan-out (`fanout-recheck.ts`), and forgetting the requests of
 * what is gone. The request memory (`requests.ts`) decides whether an ask is sent or still
 * pending, and with which id.
 *
 * Time is injected (clock and timers): tests drive a day through it with a fake clock.
 */
export function createScheduler(deps: {
  clock: Clock;
  timers: Timers;
  inventory: OwnerIndex;
  scope: Pick<Scope, 'ownerInScope' | 'containers' | 'auditReports'>;
  /** The settings each owner is scanned with (they differ by namespace and workload). */
  settings: OwnerSettings;
  requests: Pick<RequestPublisher, 'retry' | 'imageGone' | 'ownerGone' | 'sweep' | 'imageKey' | 'configKey'>;
  asks: Asks;
  timing: SchedulerTiming;
  logger: Pick<Logger, 'info' | 'warn'>;
  metrics: Pick<WatcherMetrics, 'evaluations' | 'failures'>;
}): Scheduler {
  const { clock, timers, inventory, scope, settings, requests, asks, logger, metrics } = deps;
  const t = {
    flushDelayMs: 50,
    publishRetryMs: 2000,
    sharerRecheckMs: 5000,
    sharerRechecks: 4,
    sweepMs: 30_000,
    ...deps.timing,
  };
  let dbUpdatedAt: string | undefined;

  const planFor = (owner: Owner): OwnerPlan =>
    planOwner(owner, scope.containers(owner), scope.auditReports(owner), inventory.report, {
      hashes: {
        scanConfigHash: settings.of(owner).scanConfigHash,
        pluginConfigHash: settings.pluginConfigHash,
      },
      nowMs: clock.now().getTime(),
      secrets: settings.secrets,
      ...(dbUpdatedAt ? { dbUpdatedAt } : {}),
    });

  const passes = createEvaluationPasses({
    timers,
    delayMs: t.flushDelayMs,
    retryAfterMs: t.publishRetryMs,
    evaluate: async (key, lane) => {
      const owner = inventory.owner(key);
      if (owner && scope.ownerInScope(owner)) await evaluate(owner, lane);
    },
  });
  const markAllDirty = () => {
    for (const o of inventory.owners()) passes.mark(ownerKey(o), 'bulk');
  };
  let synced = false;
  const startedAtMs = clock.now().getTime();

  const refresh = createRefreshQueue<Refresh>({
    batchSize: t.refresh.batchSize,
    intervalMs: t.refresh.intervalMs,
    timers,
    send: async (item) => {
      // The owner may have changed or gone while queued: publish only for what exists now.
      const owner = inventory.owner(ownerKey(item.owner));
      if (!owner || owner.uid !== item.owner.uid) return;
      if (item.kind === 'config') await asks.config(owner, item.purpose, 'bulk');
      else await asks.image(owner, item.need, item.purpose, 'bulk');
    },
    onError: (err) => {
      metrics.failures.inc({ reason: 'publish' });
      logger.warn({ err: String(err) }, 'publishing a refresh failed');
    },
  });

  async function evaluate(owner: Owner, lane: Lane): Promise<void> {
    metrics.evaluations.inc();
    const plan = planFor(owner);
    try {
      if (plan.config && isUrgent(plan.config)) await asks.config(owner, '', lane);
      else if (plan.config) {
        const purpose = `${plan.config}:${owner.uid}`;
        refresh.add(`cfg/${owner.uid}/${plan.config}`, { kind: 'config', owner, purpose });
      }
      const seen = new Set<string>();
      for (const need of plan.images) {
        if (isUrgent(need.reason)) {
          if (seen.has(need.image)) continue;
          seen.add(need.image);
          await asks.image(owner, need, '', lane);
          continue;
        }
        // One refresh per image and trigger in a namespace (and settings variant), however many
        // owners share it.
        const purpose = `${need.reason}:${need.digest ?? ''}:${need.notBefore ?? ''}:${need.reason === 'db' ? dbUpdatedAt : ''}`;
        const variant = settings.of(owner).variant;
        refresh.add(
          `img/${owner.namespace}/${variant}/${need.image}/${purpose}`,
          { kind: 'image', owner, need, purpose },
          // The same work at the scanners in every namespace: one digest, settings and trigger.
          `${variant}/${need.digest ?? need.image}/${purpose}`,
        );
      }
    } catch (err) {
      metrics.failures.inc({ reason: 'publish' });
      logger.warn(
        { owner: ownerKey(owner), err: String(err) },
        'publishing scan requests failed; will retry',
      );
      passes.retryLater(ownerKey(owner), lane);
    }
  }

  const fanout = createFanoutRecheck({
    timers,
    firstMs: t.sharerRecheckMs,
    retries: t.sharerRechecks,
    waiting: (namespace, image) =>
      inventory
        .ownersUsingImage(image)
        .filter(
          (o) =>
            o.namespace === namespace &&
            scope.ownerInScope(o) &&
            planFor(o).images.some((n) => n.image === image && n.reason === 'missing'),
        )
        .map(ownerKey),
    // The last answer missed them: ask again with a new request id.
    onWaiting: (namespace, image, owners) => {
      const variants = new Set<string>();
      for (const key of owners) {
        const owner = inventory.owner(key);
        if (owner) variants.add(settings.of(owner).variant);
        passes.mark(key, 'urgent');
      }
      for (const variant of variants) requests.retry(requests.imageKey(namespace, image, variant));
    },
  });

  /** The request keys a report answers. */
  const requestKeys = (owner: Owner, r: ReportRef): string[] => {
    if (isAuditReportKind(r.kind))
      return [requests.configKey(owner.uid, owner.specHash, settings.pluginConfigHash)];
    const image = owner.containers.find((c) => c.name === r.container)?.image;
    return image ? [requests.imageKey(owner.namespace, image, settings.of(owner).variant)] : [];
  };

  /** Forget the requests of what an owner no longer needs: its config audits, images no one else in the namespace runs. */
  function forget(owner: Owner | undefined, previous: Owner): void {
    if (!owner || owner.uid !== previous.uid) requests.ownerGone(previous.uid);
    const still = new Set(
      owner?.namespace === previous.namespace ? owner.containers.map((c) => c.image) : [],
    );
    for (const image of new Set(previous.containers.map((c) => c.image))) {
      if (still.has(image)) continue;
      if (!inventory.ownersUsingImage(image).some((o) => o.namespace === previous.namespace))
        requests.imageGone(previous.namespace, image);
    }
  }

  // A re-pushed tag is noticed by asking again: the scanner resolves the tag, and a new digest means a new scan.
  let recheckEpoch = 0;
  function recheckTags(): void {
    recheckEpoch++;
    const purpose = `recheck:${recheckEpoch}`;
    const seen = new Set<string>();
    for (const owner of inventory.owners()) {
      if (!scope.ownerInScope(owner)) continue;
      for (const c of scope.containers(owner)) {
        const key = `${owner.namespace}/${settings.of(owner).variant}/${c.image}`;
        if (seen.has(key)) continue;
        seen.add(key);
        // Keyed without the epoch: a re-check still queued from the last epoch is not queued twice.
        refresh.add(`img/${key}/recheck`, {
          kind: 'image',
          owner,
          need: { container: c.name, image: c.image, reason: 'ttl' },
          purpose,
        });
      }
    }
  }

  const stopResync = timers.every(t.resyncMs, markAllDirty);
  const stopRecheck = t.tagRecheckMs > 0 ? timers.every(t.tagRecheckMs, recheckTags) : undefined;
  const stopSweep = timers.every(t.sweepMs, () => requests.sweep());

  return {
    ownerChanged(key, owner, previous) {
      if (previous) forget(owner, previous);
      // Before the first list is complete every owner is marked by synced() anyway (its lane decided there).
      if (owner) passes.mark(key, synced ? 'urgent' : 'bulk');
    },
    reportChanged(type, r) {
      const owner = r.ownerUid ? inventory.ownerByUid(r.ownerUid) : undefined;
      if (!owner) return;
      // A report that appears answers its request; one deleted asks for a new one (trivy-operator's rescan).
      for (const key of requestKeys(owner, r)) requests.retry(key);
      if (type === 'DELETED') passes.mark(ownerKey(owner), 'urgent');
      else if (type === 'ADDED' && r.kind === VULNERABILITY_REPORT.kind) {
        const image = owner.containers.find((c) => c.name === r.container)?.image;
        if (image) fanout.reportLanded(owner.namespace, image);
      }
    },
    dbVersion(version) {
      if (!version || version === dbUpdatedAt) return;
      logger.info(
        { from: dbUpdatedAt, to: version },
        'trivy DB version changed; refreshing vulnerability reports',
      );
      dbUpdatedAt = version;
      markAllDirty();
    },
    synced() {
      synced = true;
      // The first list is the backlog, except an owner created after this watcher started
      // (creationTimestamp is whole seconds: a second's leeway): a new workload the list happened to
      // include. Seen in a cold start: one created as the services started waited 3 s behind the backlog.
      for (const o of inventory.owners()) {
        const created = o.workload?.createdAtMs ?? Number.NEGATIVE_INFINITY;
        passes.mark(ownerKey(o), created >= startedAtMs - 1000 ? 'urgent' : 'bulk');
      }
      logger.info({ owners: passes.dirty }, 'initial list complete; evaluating owners');
      passes.start();
    },
    imageDue(namespace, image) {
      for (const o of inventory.ownersUsingImage(image)) {
        if (o.namespace === namespace) passes.mark(ownerKey(o), 'bulk');
      }
    },
    held: {
      get dirty() {
        return passes.dirty;
      },
      get refreshQueue() {
        return refresh.size;
      },
      get sharerRechecks() {
        return fanout.size;
      },
      get publishRetries() {
        return passes.retries;
      },
    },
    async stop() {
      stopResync();
      stopRecheck?.();
      stopSweep();
      fanout.stop();
      refresh.stop();
      await passes.stop();
    },
  };
}
