import type { Inventory } from '@fleetscan/inventory';
import { isKubeError, KubeErrorCode } from '@fleetscan/kube';
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_UPDATED_AT,
  LABEL_RESOURCE_SPEC_HASH,
  MANAGED_BY_FLEETSCAN,
  type OwnerReportKind,
  REPORT_RESOURCES,
} from '@fleetscan/reports';
import type { Clock } from '@fleetscan/service';
import type { ReportApi, ReportObject } from './apply.ts';
import type { WriterMetrics } from './metrics.ts';

/**
 * How long the writer trusts its own write of a report over its watch of reports. The watch shows
 * a write a moment later (seconds under load); meanwhile a second result for the same report (an
 * image's fan-out and a late owner written from it, two namespaces' requests answered by one scan)
 * would read the old report and apply again. Past this the watch has surely caught up.
 */
export const RECENT_WRITE_TRUST_MS = 60_000;
/** Reports whose last write is remembered at most (oldest first out). */
export const RECENT_WRITES_MAX = 20_000;

/**
 * A built report, with what the write decision reads from it: the scan time is report.updateTimestamp,
 * or for the kinds without one (RBAC and infra assessments) fleetscan's updated-at annotation.
 */
export type WritableReport = ReportObject & {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  report: { updateTimestamp?: string; [field: string]: unknown };
};

/** When the scan a report holds was made, in ms. */
export function scanTimeOf(r: WritableReport): number {
  return Date.parse(r.report.updateTimestamp ?? r.metadata.annotations?.[ANNOTATION_UPDATED_AT] ?? '');
}

/** What the write decision needs of a report: whose it is, its content, the scan time it holds. */
export interface ReportState {
  /** Its app.kubernetes.io/managed-by label: fleetscan, or another tool (trivy-operator). */
  managedBy?: string | undefined;
  ownerUid?: string | undefined;
  contentHash?: string | undefined;
  /** The scan time in ms (scanTimeOf). */
  updatedAtMs?: number | undefined;
  /** resource-spec-hash: the owner's pod spec the report is for. */
  specHash?: string | undefined;
}

/** A report as this writer last wrote it, and when. */
export interface OwnWrite extends ReportState {
  updatedAtMs: number;
  atMs: number;
}

/** What a write ended as; also the `outcome` label of fleetscan_writer_reports_total. */
export type WriteOutcome = 'written' | 'adopted' | 'older' | 'unchanged' | 'dropped';

/**
 * The report as far as this writer can tell: its own recent write while the watch may not show it
 * yet, unless the watch already shows something newer (another writer, a later scan).
 */
export function currentState(
  seen: ReportState | undefined,
  own: OwnWrite | undefined,
  nowMs: number,
  trustMs = RECENT_WRITE_TRUST_MS,
): ReportState | undefined {
  if (!own || nowMs - own.atMs >= trustMs) return seen;
  if (!seen || seen.managedBy !== MANAGED_BY_FLEETSCAN) return own;
  if (seen.updatedAtMs === undefined || own.updatedAtMs >= seen.updatedAtMs) return own;
  return seen;
}

/**
 * Whether to apply `incoming` over `existing`. A report another tool wrote (trivy-operator, before
 * fleetscan took over: same names, same kinds) is adopted, replaced as a whole whatever scan it
 * holds: its scan time is not fleetscan's to compare, and a newer one would keep it forever. A
 * report of another owner (or none) is written; of the same owner, a scan older than the report's
 * never replaces it (a late or redelivered result), and the same content from the same scan is not
 * written again.
 */
export function decideWrite(
  existing: ReportState | undefined,
  incoming: ReportState & { ownerUid: string; updatedAtMs: number },
): 'write' | 'adopt' | 'older' | 'unchanged' {
  if (existing && existing.managedBy !== MANAGED_BY_FLEETSCAN) return 'adopt';
  if (!existing || existing.ownerUid !== incoming.ownerUid) return 'write';
  // Scan times compare only for one pod spec: an owner updated in place (a StatefulSet, a
  // DaemonSet) to an image whose cached scan is older than the report's must still get its report.
  if (existing.specHash !== incoming.specHash) return 'write';
  if (existing.updatedAtMs !== undefined && existing.updatedAtMs > incoming.updatedAtMs) return 'older';
  if (existing.contentHash === incoming.contentHash && existing.updatedAtMs === incoming.updatedAtMs)
    return 'unchanged';
  return 'write';
}

export interface WriteQueue {
  /**
   * Writes `report` for the owner unless decideWrite says not to. Writes of one report go one at a
   * time, in the order they were asked for, each deciding on what the one before it left. A
   * report whose namespace is gone is `dropped`; any other API failure is thrown (the caller retries).
   */
  write(kind: OwnerReportKind, report: WritableReport, ownerUid: string): Promise<WriteOutcome>;
  /** The report was deleted (its watch says so): the next result for it is written. */
  forget(kind: OwnerReportKind, namespace: string, name: string): void;
  /** How many own writes are remembered now. */
  remembered(): number;
}

export function createWriteQueue(d: {
  reports: Pick<Inventory, 'report'>;
  api: Pick<ReportApi, 'apply' | 'replace'>;
  metrics: Pick<WriterMetrics, 'reports'>;
  clock: Clock;
  trustMs?: number;
  maxRemembered?: number;
}): WriteQueue {
  const trustMs = d.trustMs ?? RECENT_WRITE_TRUST_MS;
  const maxRemembered = d.maxRemembered ?? RECENT_WRITES_MAX;
  const keyOf = (kind: OwnerReportKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
  /** Own writes in the order they were made (re-inserted on each write), so the oldest come first. */
  const own = new Map<string, OwnWrite>();
  const inFlight = new Map<string, Promise<WriteOutcome>>();

  function remember(key: string, w: OwnWrite): void {
    own.delete(key);
    own.set(key, w);
    for (const [k, v] of own) {
      if (own.size <= maxRemembered && w.atMs - v.atMs < trustMs) break;
      own.delete(k);
    }
  }

  async function writeNow(
    key: string,
    kind: OwnerReportKind,
    report: WritableReport,
    ownerUid: string,
  ): Promise<WriteOutcome> {
    const namespace = report.metadata.namespace ?? '';
    const seen = d.reports.report(kind, namespace, report.metadata.name);
    const existing = currentState(seen, own.get(key), d.clock.now().getTime(), trustMs);
    const incoming = {
      ownerUid,
      contentHash: report.metadata.annotations?.[ANNOTATION_CONTENT_HASH],
      updatedAtMs: scanTimeOf(report),
      specHash: report.metadata.labels?.[LABEL_RESOURCE_SPEC_HASH],
    };
    const decision = decideWrite(existing, incoming);
    if (decision === 'older' || decision === 'unchanged') {
      d.metrics.reports.inc({ kind, outcome: decision });
      return decision;
    }
    try {
      // Applying alone would leave the other tool's fields (and its field manager) in place.
      if (decision === 'adopt') await d.api.replace(REPORT_RESOURCES[kind].plural, report);
      await d.api.apply(REPORT_RESOURCES[kind].plural, report);
    } catch (err) {
      if (isKubeError(err, KubeErrorCode.NotFound)) {
        // The namespace went away with the owner: nothing to write.
        d.metrics.reports.inc({ kind, outcome: 'dropped' });
        return 'dropped';
      }
      d.metrics.reports.inc({
        kind,
        outcome: isKubeError(err, KubeErrorCode.Conflict) ? 'conflict' : 'failed',
      });
      throw err;
    }
    const outcome = decision === 'adopt' ? 'adopted' : 'written';
    d.metrics.reports.inc({ kind, outcome });
    remember(key, { ...incoming, managedBy: MANAGED_BY_FLEETSCAN, atMs: d.clock.now().getTime() });
    return outcome;
  }

  return {
    async write(kind, report, ownerUid) {
      const key = keyOf(kind, report.metadata.namespace ?? '', report.metadata.name);
      const before = inFlight.get(key) ?? Promise.resolve<WriteOutcome>('written');
      // Whatever the write before ended in (a failure included), this one decides afresh.
      const run = () => writeNow(key, kind, report, ownerUid);
      const mine = before.then(run, run);
      inFlight.set(key, mine);
      try {
        return await mine;
      } finally {
        if (inFlight.get(key) === mine) inFlight.delete(key);
      }
    },
    forget(kind, namespace, name) {
      own.delete(keyOf(kind, namespace, name));
    },
    remembered: () => own.size,
  };
}
