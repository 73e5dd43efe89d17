import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BlobStore,
  type ConfigAuditData,
  ConfigAuditDataSchema,
  type ConfigAuditResult,
  ImageScanDataSchema,
  type ImageScanResult,
} from '@fleetscan/bus';
import { type Inventory, type Owner, ownerKey } from '@fleetscan/inventory';
import { isKubeError, KubeErrorCode } from '@fleetscan/kube';
import {
  ANNOTATION_CONTENT_HASH,
  CONFIG_AUDIT_REPORT,
  EXPOSED_SECRET_REPORT,
  type OwnerReportKind,
  ownerReportNames,
  REPORT_RESOURCES,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { ReportApi, ReportObject } from './apply.ts';
import {
  type BuildSettings,
  buildConfigAuditReport,
  buildErrorVulnerabilityReport,
  buildExposedSecretReport,
  buildVulnerabilityReport,
} from './build.ts';
import type { WriterMetrics } from './metrics.ts';

/** What to do with the message after reconciling it. */
export type Disposition = 'ack' | { retryInMs: number; reason: string };

export interface Reconciler {
  image(r: ImageScanResult, deliveries: number): Promise<Disposition>;
  config(r: ConfigAuditResult, deliveries: number): Promise<Disposition>;
  /**
   * An owner the writer's watches just saw: if an image it runs was fanned out in its namespace
   * lately, write its reports from that result now. Under load the writer can see an owner after the
   * fan-out its own request asked for, and nothing else would bring that result back.
   */
  ownerAppeared(owner: Owner): Promise<void>;
  /** A report is gone (deleted, or its owner with it): the next result for it is written. */
  reportDeleted(kind: OwnerReportKind, namespace: string, name: string): void;
}

/** How long, and for how many namespace × image pairs, a fan-out is remembered for late owners. */
const RECENT_FANOUT_MS = 10 * 60_000;
const RECENT_FANOUT_MAX = 10_000;
/** Reports whose last write is remembered (their watch events catch up within seconds). */
const RECENT_WRITES_MAX = 20_000;
const RECENT_WRITE_TRUST_MS = 60_000;
/**
 * A new owner usually gets its own result within seconds; only one still without a report after
 * this long is written from a remembered fan-out.
 */
const LATE_OWNER_DELAY_MS = 10_000;

/**
 * The writer's watches may trail the watcher's, by seconds when thousands of workloads are created at once:
 * a result whose owner is not seen yet is retried for this long after the scan finished before it counts as
 * an owner that is gone.
 */
const OWNER_GRACE_MS = 60_000;
// 60 s at 5 s a try stays well inside the consumer's max_deliver (20).
const OWNER_RETRY_MS = 5000;

type Built = ReportObject & {
  metadata: { annotations?: Record<string, string> };
  report: { updateTimestamp: string };
};

export function createReconciler(d: {
  inventory: Pick<Inventory, 'ownersUsingImage' | 'ownerByUid' | 'report'>;
  /** This cluster's results bucket: results too large for a message. */
  blobs: Pick<BlobStore, 'get'>;
  api: ReportApi;
  metrics: WriterMetrics;
  logger: Logger;
  settings: BuildSettings;
  writeConcurrency: number;
  now?: () => number;
  /** Tests shorten it. */
  lateOwnerDelayMs?: number;
}): Reconciler {
  const now = d.now ?? Date.now;
  const lateOwnerDelayMs = d.lateOwnerDelayMs ?? LATE_OWNER_DELAY_MS;
  const inGrace = (finishedAt: string) => now() - Date.parse(finishedAt) < OWNER_GRACE_MS;
  /**
   * What this writer applied lately, per report: its own watch shows a write a moment later, and
   * meanwhile another result for the same report (a fan-out, a late owner) must not apply it again.
   */
  const applied = new Map<
    string,
    { ownerUid: string; contentHash?: string; updatedAtMs: number; at: number }
  >();
  const inFlight = new Map<string, Promise<void>>();

  /** One write per report at a time, in arrival order. */
  async function write(kind: OwnerReportKind, obj: Built, owner: Owner): Promise<void> {
    const key = `${kind}/${owner.namespace}/${obj.metadata.name}`;
    const before = inFlight.get(key);
    const mine = (before ?? Promise.resolve()).then(
      () => writeNow(key, kind, obj, owner),
      () => writeNow(key, kind, obj, owner),
    );
    inFlight.set(key, mine);
    try {
      await mine;
    } finally {
      if (inFlight.get(key) === mine) inFlight.delete(key);
    }
  }

  /**
   * Applies `obj` unless the existing report is the same (content hash) or
   * newer: a scan that finishes late never replaces a newer one.
   */
  async function writeNow(key: string, kind: OwnerReportKind, obj: Built, owner: Owner): Promise<void> {
    const seen = d.inventory.report(kind, owner.namespace, obj.metadata.name);
    // Our own write is trusted until the watch has surely caught up with it.
    const last = applied.get(key);
    const mine = last && now() - last.at < RECENT_WRITE_TRUST_MS ? last : undefined;
    const existing =
      mine && (!seen || seen.updatedAtMs === undefined || mine.updatedAtMs >= seen.updatedAtMs) ? mine : seen;
    const incoming = Date.parse(obj.report.updateTimestamp);
    const contentHash = obj.metadata.annotations?.[ANNOTATION_CONTENT_HASH];
    if (existing?.ownerUid === owner.uid) {
      if (existing.updatedAtMs !== undefined && existing.updatedAtMs > incoming) {
        d.metrics.reports.inc({ kind, outcome: 'older' });
        return;
      }
      if (existing.contentHash === contentHash && existing.updatedAtMs === incoming) {
        d.metrics.reports.inc({ kind, outcome: 'unchanged' });
        return;
      }
    }
    try {
      await d.api.apply(REPORT_RESOURCES[kind].plural, obj);
      d.metrics.reports.inc({ kind, outcome: 'written' });
      applied.delete(key);
      applied.set(key, {
        ownerUid: owner.uid,
        ...(contentHash && { contentHash }),
        updatedAtMs: incoming,
        at: now(),
      });
      if (applied.size > RECENT_WRITES_MAX) applied.delete(applied.keys().next().value as string);
    } catch (err) {
      if (isKubeError(err) && err.code === KubeErrorCode.NotFound) {
        // The namespace went away with the owner: nothing to write.
        d.metrics.reports.inc({ kind, outcome: 'dropped' });
        return;
      }
      d.metrics.reports.inc({
        kind,
        outcome: isKubeError(err) && err.code === KubeErrorCode.Conflict ? 'conflict' : 'failed',
      });
      throw err;
    }
  }

  async function pool<T>(items: T[], fn: (t: T) => Promise<void>): Promise<void> {
    let i = 0;
    const worker = async () => {
      while (i < items.length) {
        const item = items[i++] as T;
        await fn(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(d.writeConcurrency, items.length) }, worker));
  }

  const retry = (err: unknown, deliveries: number): Disposition => ({
    retryInMs: Math.min(60_000, 1000 * 2 ** Math.min(deliveries, 6)),
    reason: String(err),
  });

  const recent = new Map<string, { r: ImageScanResult; at: number }>();
  const recentKey = (namespace: string, image: string) => `${namespace}\n${image}`;
  const remember = (r: ImageScanResult) => {
    const key = recentKey(r.namespace, r.image);
    recent.delete(key);
    recent.set(key, { r, at: now() });
    for (const [k, v] of recent) {
      if (recent.size <= RECENT_FANOUT_MAX && now() - v.at < RECENT_FANOUT_MS) break;
      recent.delete(k);
    }
  };

  async function fanOut(r: ImageScanResult, deliveries: number, only?: Owner): Promise<Disposition> {
    // Results are scoped to the requesting namespace: another tenant's pull secrets never leak a report.
    const owners = only
      ? [only]
      : d.inventory.ownersUsingImage(r.image).filter((o) => o.namespace === r.namespace);
    if (owners.length === 0) {
      if (inGrace(r.finishedAt)) return { retryInMs: OWNER_RETRY_MS, reason: 'no owner uses this image yet' };
      d.metrics.results.inc({ type: 'image', outcome: 'no_owner' });
      return 'ack';
    }
    const targets = owners.flatMap((o) =>
      o.containers.filter((c) => c.image === r.image).map((c) => ({ o, c })),
    );
    let builds: { kind: OwnerReportKind; obj: Built; o: Owner }[];
    const inline = r.data;
    if (r.status === 'error' || (!inline && !r.blob)) {
      const error = r.error ?? { code: 'FAILED', message: 'scan failed', permanent: false };
      d.metrics.results.inc({ type: 'image', outcome: 'error_result' });
      d.logger.warn(
        { image: r.image, namespace: r.namespace, code: error.code },
        'image scan failed; writing error reports',
      );
      builds = targets.map(({ o, c }) => ({
        kind: VULNERABILITY_REPORT.kind,
        obj: buildErrorVulnerabilityReport(
          o,
          c.name,
          r.image,
          error,
          r.scanConfigHash,
          r.finishedAt,
          d.settings,
        ),
        o,
      }));
    } else {
      const data = inline ?? (await d.blobs.get(ImageScanDataSchema, r.blob ?? ''));
      builds = targets.flatMap(({ o, c }) => [
        {
          kind: VULNERABILITY_REPORT.kind,
          obj: buildVulnerabilityReport(o, c.name, data, r.scanConfigHash, d.settings),
          o,
        },
        ...(data.secrets
          ? [
              {
                kind: EXPOSED_SECRET_REPORT.kind,
                obj: buildExposedSecretReport(o, c.name, data, d.settings),
                o,
              },
            ]
          : []),
      ]);
      d.metrics.results.inc({ type: 'image', outcome: 'applied' });
    }
    try {
      await pool(builds, (b) => write(b.kind, b.obj, b.o));
    } catch (err) {
      d.metrics.failures.inc({ reason: 'apply' });
      return retry(err, deliveries);
    }
    d.logger.info(
      {
        image: r.image,
        namespace: r.namespace,
        reports: builds.length,
        cached: r.cached,
        ...(only && { lateOwner: ownerKey(only) }),
      },
      'image reports reconciled',
    );
    if (!only) remember(r);
    return 'ack';
  }

  return {
    image: (r, deliveries) => fanOut(r, deliveries),

    reportDeleted(kind, namespace, name) {
      applied.delete(`${kind}/${namespace}/${name}`);
    },

    async ownerAppeared(owner) {
      await sleep(lateOwnerDelayMs);
      const current = d.inventory.ownerByUid(owner.uid);
      if (!current) return;
      const images = new Set(
        ownerReportNames(current, current.containers)
          .containers.filter(({ name }) => {
            const r = d.inventory.report(VULNERABILITY_REPORT.kind, current.namespace, name);
            return !r || r.ownerUid !== current.uid;
          })
          .map(({ container }) => container.image)
          .filter(Boolean),
      );
      for (const image of images) {
        const hit = recent.get(recentKey(current.namespace, image));
        if (!hit || now() - hit.at >= RECENT_FANOUT_MS) continue;
        d.metrics.results.inc({ type: 'image', outcome: 'late_owner' });
        const outcome = await fanOut(hit.r, 1, current).catch((err: unknown) => ({
          retryInMs: 0,
          reason: String(err),
        }));
        if (outcome !== 'ack') {
          // The watcher asks again for an owner still without its report (resync, re-checks).
          d.logger.warn(
            { owner: ownerKey(current), image, reason: outcome.reason },
            'late owner not written',
          );
        }
      }
    },

    async config(r, deliveries) {
      const owner = d.inventory.ownerByUid(r.owner.uid);
      if (!owner) {
        if (inGrace(r.finishedAt)) return { retryInMs: OWNER_RETRY_MS, reason: 'owner not seen yet' };
        d.metrics.results.inc({ type: 'config', outcome: 'dropped_owner_gone' });
        d.logger.info(
          { owner: `${r.owner.kind}/${r.owner.namespace}/${r.owner.name}` },
          'owner gone; config result dropped',
        );
        return 'ack';
      }
      if (owner.specHash !== r.specHash) {
        d.metrics.results.inc({ type: 'config', outcome: 'dropped_stale' });
        return 'ack';
      }
      if (r.status === 'error') {
        d.metrics.results.inc({ type: 'config', outcome: 'error_result' });
        d.logger.warn({ owner: ownerKey(owner), error: r.error }, 'config audit failed; no report written');
        return 'ack';
      }
      const data: ConfigAuditData | undefined =
        r.data ?? (r.blob ? await d.blobs.get(ConfigAuditDataSchema, r.blob) : undefined);
      if (!data) {
        d.metrics.results.inc({ type: 'config', outcome: 'invalid' });
        return 'ack';
      }
      try {
        await write(
          CONFIG_AUDIT_REPORT.kind,
          buildConfigAuditReport(owner, data, r.pluginConfigHash, d.settings),
          owner,
        );
      } catch (err) {
        d.metrics.failures.inc({ reason: 'apply' });
        return retry(err, deliveries);
      }
      d.metrics.results.inc({ type: 'config', outcome: 'applied' });
      return 'ack';
    },
  };
}
