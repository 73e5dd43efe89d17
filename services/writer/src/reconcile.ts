import {
  type BlobStore,
  BusErrorCode,
  bounded,
  type ConfigAuditData,
  ConfigAuditDataSchema,
  type ConfigAuditResult,
  type Delivery,
  ImageSbomSchema,
  ImageScanDataSchema,
  type ImageScanResult,
  isBusError,
  type Lane,
  laneOf,
  type Outcome,
} from '@fleetscan/bus';
import { type Inventory, type Owner, ownerKey } from '@fleetscan/inventory';
import { isKubeError, KubeErrorCode } from '@fleetscan/kube';
import {
  type AuditReportKind,
  auditReports,
  CONFIG_AUDIT_REPORT,
  type OwnerReportKind,
} from '@fleetscan/reports';
import type { Clock, Logger, Timers } from '@fleetscan/service';
import type { ReportApi } from './apply.ts';
import type { BuildSettings } from './build.ts';
import { buildAuditReports } from './build-audit.ts';
import { bomFromCycloneDx } from './build-sbom.ts';
import { createBulkLimit } from './bulk-limit.ts';
import { type FanOutSbom, fanOutOwners, fanOutReports, inPool } from './fan-out.ts';
import { createFanoutMemory } from './fanout-memory.ts';
import { createLateOwners } from './late-owners.ts';
import type { WriterMetrics } from './metrics.ts';
import { OWNER_RETRY_MIN_MS, ownerNotSeen } from './owner-grace.ts';
import { createOwnerWaits, URGENT_OWNER_WAIT_MS } from './owner-waits.ts';
import type { ScanFailures } from './scan-failures.ts';
import { createWriteQueue, type WritableReport } from './write-queue.ts';
import { createWriteSlots } from './write-slots.ts';

/** What the reconciler reads of a delivery; without a subject, a result is handled as a bulk one. */
export type ResultDelivery = Pick<Delivery, 'storedAt'> &
  Partial<Pick<Delivery, 'subject' | 'signal' | 'delivery'>>;

const laneOfDelivery = (at: ResultDelivery): Lane => (at.subject ? laneOf(at.subject) : 'bulk');

/** The learned bulk bound is logged when it changed, this often at most (it can change every write). */
const BULK_LIMIT_LOG_MS = 10_000;

/**
 * Where a result's time went in the writer, for its log line: from the stream storing it to its
 * handler (delivery, and this process's event loop), then waiting for its owner to be seen.
 */
interface Timing {
  sinceStoredMs: number;
  ownerWaitMs: number;
}

function timingOf(at: ResultDelivery, nowMs: () => number) {
  const handledAt = nowMs();
  let ownerWaitMs = 0;
  return {
    ownerSeen() {
      ownerWaitMs = nowMs() - handledAt;
    },
    fields: (): Timing => ({ sinceStoredMs: handledAt - at.storedAt.getTime(), ownerWaitMs }),
  };
}

/** What the writer does with each result and each event of its watches that concerns them. */
export interface Reconciler {
  /** An image result: its reports for every owner in its namespace running the image. */
  image(r: ImageScanResult, at: ResultDelivery): Promise<Outcome>;
  /**
   * A config audit result: its owner's audit reports (the result's `reports`: a config audit, an
   * RBAC or infra assessment), if that owner is still what was audited (same spec hash).
   */
  config(r: ConfigAuditResult, at: ResultDelivery): Promise<Outcome>;
  /** An owner the writer's watches just saw (late-owners.ts). */
  ownerAppeared(owner: Owner): void;
  /** A report is gone (deleted, or its owner with it): the next result for it is written. */
  reportDeleted(kind: OwnerReportKind, namespace: string, name: string): void;
  /** Cancels late-owner checks not yet due and waits for running ones. */
  stop(): Promise<void>;
}

/**
 * Composes the writer's cores: the write queue (write-queue.ts), the fan-out memory and late-owner
 * checks (fanout-memory.ts, late-owners.ts), the owner grace (owner-grace.ts) and the pure fan-out
 * (fan-out.ts). What is left here is reading a result's data and counting what became of it.
 * Retries are consume()'s: an outcome says retry, its policy says when.
 */
export function createReconciler(d: {
  inventory: Pick<Inventory, 'ownersUsingImage' | 'ownerByUid' | 'report'>;
  /** This cluster's results bucket: results too large for a message. */
  blobs: Pick<BlobStore, 'get'>;
  api: Pick<ReportApi, 'apply' | 'replace'>;
  metrics: WriterMetrics;
  logger: Logger;
  settings: BuildSettings;
  /** Write SbomReports from the SBOM a result names (SBOM_GENERATION_ENABLED); default off. */
  sbomReports?: boolean;
  writeConcurrency: number;
  /** API writes of the bulk lane in flight at most, across its results (write-slots.ts). */
  bulkWritesInFlight: number;
  clock: Clock;
  timers: Timers;
  /** The failure state: records, Events and counters of failed scans (scan-failures.ts). */
  failures: Pick<ScanFailures, 'failed' | 'succeeded'>;
}): Reconciler {
  const nowMs = () => d.clock.now().getTime();
  const writes = createWriteQueue({ reports: d.inventory, api: d.api, metrics: d.metrics, clock: d.clock });
  const memory = createFanoutMemory({ clock: d.clock });
  const lateOwners = createLateOwners({
    inventory: d.inventory,
    memory,
    // A late owner is a new workload: its writes are urgent.
    writeFrom: (r, owner) => fanOut(r, [owner], 'urgent', owner),
    metrics: d.metrics,
    logger: d.logger,
    timers: d.timers,
  });
  const waitForOwner = (r: ConfigAuditResult | ImageScanResult, at: Pick<Delivery, 'storedAt'>) =>
    ownerNotSeen(r, at, nowMs());
  const ownerWaits = createOwnerWaits(d.timers);
  const bulkLimit = createBulkLimit({ max: d.bulkWritesInFlight, now: nowMs });
  const bulkWrites = createWriteSlots(d.bulkWritesInFlight, 1, { limit: bulkLimit, now: nowMs });
  let logged = { limit: 0, atMs: Number.NEGATIVE_INFINITY };
  /** The bulk bound in its gauge, and in a log line when it changed (one per BULK_LIMIT_LOG_MS at most). */
  const bulkLimitSeen = () => {
    const limit = bulkWrites.limit;
    d.metrics.bulkLimit.set(limit);
    const now = nowMs();
    if (limit === logged.limit || now - logged.atMs < BULK_LIMIT_LOG_MS) return;
    logged = { limit, atMs: now };
    const l = bulkLimit.latency;
    d.logger.info(
      {
        limit,
        max: d.bulkWritesInFlight,
        ...(l && { smoothedMs: Math.round(l.smoothedMs), baselineMs: Math.round(l.baselineMs) }),
      },
      'bulk writes in flight',
    );
  };
  /**
   * A bulk write waits for one of the lane's shared slots (write-slots.ts); an urgent one goes at
   * once, and bulk writes yield to it.
   */
  const inLane = async (lane: Lane, write: () => Promise<unknown>): Promise<void> => {
    if (lane !== 'bulk') return void (await bulkWrites.urgent(write));
    try {
      await bulkWrites.run(write);
    } finally {
      bulkLimitSeen();
    }
  };
  /** An urgent result (a new workload's) waits in its handler for its owner to appear (owner-waits.ts). */
  // On its first delivery only: a result whose owner is gone for good (created and deleted at once)
  // must not hold an urgent slot at every redelivery until its grace ends.
  const awaitOwner = (at: ResultDelivery, matches: (o: Owner) => boolean): Promise<boolean> =>
    laneOfDelivery(at) === 'urgent' && (at.delivery ?? 1) === 1
      ? ownerWaits.wait(matches, URGENT_OWNER_WAIT_MS, at.signal)
      : Promise.resolve(false);
  /**
   * Writes every report of a result in its lane, WRITE_CONCURRENCY at once. A report the API server
   * refuses as invalid (a body its CRD's schema rejects: CRDs older than this writer, say) fails the
   * same way on every delivery: it is counted, logged and skipped, so the result's other reports are
   * still written, and the result ends in a term naming it rather than in retries until the delivery
   * limit. Any other failure stops the pool and the result is retried, counted as `apply`.
   */
  async function writeAll<W extends { kind: OwnerReportKind; report: WritableReport }>(
    items: readonly W[],
    lane: Lane,
    ownerUid: (w: W) => string,
  ): Promise<Outcome> {
    let refused: string | undefined;
    try {
      await inPool(items, d.writeConcurrency, async (w) => {
        try {
          await inLane(lane, () => writes.write(w.kind, w.report, ownerUid(w)));
        } catch (err) {
          if (!isKubeError(err, KubeErrorCode.Invalid)) throw err;
          d.metrics.failures.inc({ reason: 'invalid_report' });
          const report = `${w.kind} ${w.report.metadata.namespace ?? ''}/${w.report.metadata.name}`;
          d.logger.warn(
            { report: bounded(report), error: bounded(err.message) },
            'report refused by the API server as invalid; not retried',
          );
          refused ??= `${report} refused by the API server as invalid: ${err.message}`;
        }
      });
    } catch (err) {
      d.metrics.failures.inc({ reason: 'apply' });
      return { kind: 'retry', reason: String(err) };
    }
    return refused === undefined ? { kind: 'ack' } : { kind: 'term', reason: bounded(refused) };
  }

  /**
   * The SBOM behind a result, for its SbomReports. One that is gone (the object store's TTL) or
   * unreadable costs only the SbomReports, counted and logged: the other reports are still written,
   * and the next result for the image (a refresh) brings a new one. Any other failure is thrown
   * (retried with the result).
   */
  async function readSbom(r: ImageScanResult): Promise<FanOutSbom | undefined> {
    if (!d.sbomReports || !r.sbomBlob) return undefined;
    let why: string;
    try {
      const entry = await d.blobs.get(ImageSbomSchema, r.sbomBlob);
      try {
        return { entry, bom: bomFromCycloneDx(entry.sbom) };
      } catch (err) {
        d.metrics.failures.inc({ reason: 'sbom_invalid' });
        why = `not a CycloneDX SBOM: ${bounded(String(err))}`;
      }
    } catch (err) {
      if (!isBusError(err, BusErrorCode.BlobMissing) && !isBusError(err, BusErrorCode.InvalidMessage))
        throw err;
      d.metrics.failures.inc({
        reason: isBusError(err, BusErrorCode.BlobMissing) ? 'sbom_missing' : 'sbom_invalid',
      });
      why = err.message;
    }
    d.logger.warn(
      { image: bounded(r.image), namespace: r.namespace, sbom: bounded(r.sbomBlob), why },
      'stored SBOM not usable; SbomReports not written',
    );
    return undefined;
  }

  /** Writes `r`'s reports for `owners`; `lateOwner` when it is a late owner written from memory. */
  async function fanOut(
    r: ImageScanResult,
    owners: Owner[],
    lane: Lane,
    lateOwner?: Owner,
    timing?: Timing,
  ): Promise<Outcome> {
    // The data travels in the result, or (too large for a message) in this cluster's results bucket.
    const failed = r.status === 'error' || (!r.data && !r.blob);
    const data = failed ? undefined : (r.data ?? (await d.blobs.get(ImageScanDataSchema, r.blob ?? '')));
    if (!data) {
      // A failed scan writes no findings report: zero findings would read as a clean image.
      try {
        await d.failures.failed(r, owners);
      } catch (err) {
        d.metrics.failures.inc({ reason: 'scan_failure_record' });
        return { kind: 'retry', reason: `cannot record the scan failure: ${bounded(String(err))}` };
      }
      d.metrics.results.inc({ type: 'image', outcome: 'error_result' });
      return { kind: 'ack' };
    }
    const sbom = await readSbom(r);
    d.metrics.results.inc({ type: 'image', outcome: 'applied' });
    const reports = fanOutReports(r, owners, data, d.settings, sbom);
    const writesFrom = nowMs();
    const written = await writeAll(reports, lane, (w) => w.owner.uid);
    if (written.kind === 'retry') return written;
    const writeMs = nowMs() - writesFrom;
    if (!lateOwner) {
      // The image scans again: its failure record goes, and with it the watcher's hold.
      try {
        await d.failures.succeeded(r);
      } catch (err) {
        d.metrics.failures.inc({ reason: 'scan_failure_record' });
        return { kind: 'retry', reason: `cannot remove the scan failure record: ${bounded(String(err))}` };
      }
    }
    d.logger.info(
      {
        image: bounded(r.image),
        namespace: r.namespace,
        reports: reports.length,
        cached: r.cached,
        lane,
        ...timing,
        writeMs,
        ...(lateOwner && { lateOwner: ownerKey(lateOwner) }),
      },
      'image reports reconciled',
    );
    return written;
  }

  return {
    async image(r, at) {
      const timing = timingOf(at, nowMs);
      const ownersNow = () => fanOutOwners(r, d.inventory.ownersUsingImage(r.image));
      let owners = ownersNow();
      if (owners.length === 0 && (await awaitOwner(at, (o) => fanOutOwners(r, [o]).length > 0))) {
        owners = ownersNow();
      }
      timing.ownerSeen();
      if (owners.length === 0) {
        if (waitForOwner(r, at) === 'wait')
          return { kind: 'retry', reason: 'no owner uses this image yet', delayMs: OWNER_RETRY_MIN_MS };
        d.metrics.results.inc({ type: 'image', outcome: 'no_owner' });
        d.logger.info(
          { image: bounded(r.image), namespace: r.namespace },
          'no owner in the namespace runs the image; image result dropped',
        );
        return { kind: 'ack' };
      }
      // Remembered before its writes: an owner the watches show while they run (they take a while
      // under load) is written from it at once (late-owners.ts), not LATE_OWNER_DELAY_MS later. A
      // failed scan is not remembered: a late owner is told by the next round's Event, not a report.
      if (r.status === 'ok' && (r.data || r.blob)) memory.remember(r);
      return fanOut(r, owners, laneOfDelivery(at), undefined, timing.fields());
    },

    async config(r, at) {
      const timing = timingOf(at, nowMs);
      let owner = d.inventory.ownerByUid(r.owner.uid);
      if (!owner && (await awaitOwner(at, (o) => o.uid === r.owner.uid))) {
        owner = d.inventory.ownerByUid(r.owner.uid);
      }
      timing.ownerSeen();
      if (!owner) {
        if (waitForOwner(r, at) === 'wait')
          return { kind: 'retry', reason: 'owner not seen yet', delayMs: OWNER_RETRY_MIN_MS };
        d.metrics.results.inc({ type: 'config', outcome: 'dropped_owner_gone' });
        d.logger.info(
          { owner: bounded(`${r.owner.kind}/${r.owner.namespace}/${r.owner.name}`) },
          'owner gone; config result dropped',
        );
        return { kind: 'ack' };
      }
      if (owner.specHash !== r.specHash) {
        d.metrics.results.inc({ type: 'config', outcome: 'dropped_stale' });
        return { kind: 'ack' };
      }
      if (r.status === 'error') {
        d.metrics.results.inc({ type: 'config', outcome: 'error_result' });
        d.logger.warn(
          { owner: ownerKey(owner), code: r.error?.code, error: bounded(r.error?.message ?? '') },
          'config audit failed; no report written',
        );
        return { kind: 'ack' };
      }
      const data: ConfigAuditData | undefined =
        r.data ?? (r.blob ? await d.blobs.get(ConfigAuditDataSchema, r.blob) : undefined);
      if (!data) {
        d.metrics.results.inc({ type: 'config', outcome: 'invalid' });
        return { kind: 'ack' };
      }
      const reports = buildAuditReports(
        owner,
        data,
        kindsFor(owner, r.reports),
        r.pluginConfigHash,
        d.settings,
      );
      const lane = laneOfDelivery(at);
      const writesFrom = nowMs();
      const written = await writeAll(reports, lane, () => owner.uid);
      if (written.kind === 'retry') return written;
      d.metrics.results.inc({ type: 'config', outcome: 'applied' });
      // Urgent results only: a bulk backlog would log a line per owner.
      if (lane === 'urgent') {
        d.logger.info(
          {
            owner: ownerKey(owner),
            reports: reports.length,
            ...timing.fields(),
            writeMs: nowMs() - writesFrom,
          },
          'urgent config reports reconciled',
        );
      }
      return written;
    },

    ownerAppeared: (owner) => {
      ownerWaits.appeared(owner);
      lateOwners.appeared(owner);
    },
    reportDeleted: (kind, namespace, name) => writes.forget(kind, namespace, name),
    stop: () => lateOwners.stop(),
  };
}

/**
 * The audit reports a result is written into: those it names (a result without any is from before
 * there were other kinds: a ConfigAuditReport), kept to the kinds this owner can have, so a
 * malformed result cannot put a cluster-scoped report kind on a namespaced owner or the reverse.
 */
export function kindsFor(owner: Owner, asked: readonly AuditReportKind[] | undefined): AuditReportKind[] {
  const possible = new Set(auditReports(owner, { infra: true }).map((a) => a.kind));
  return (asked ?? [CONFIG_AUDIT_REPORT.kind]).filter((k) => possible.has(k));
}
