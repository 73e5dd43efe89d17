import {
  bounded,
  type FailureBackoff,
  type ImageScanResult,
  nextRecord,
  type ScanFailureRecord,
} from '@fleetscan/bus';
import type { Inventory, Owner } from '@fleetscan/inventory';
import { MANAGED_BY_FLEETSCAN, ownerReportNames, VULNERABILITY_REPORT } from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { ReportApi } from './apply.ts';
import type { FailureStore } from './failure-store.ts';
import type { WriterMetrics } from './metrics.ts';
import { buildScanFailedEvent, type EventApi } from './scan-events.ts';

/** Compare-and-set attempts of one failure before the message is retried instead. */
const MAX_CAS_ATTEMPTS = 5;

export interface ScanFailures {
  /**
   * An error result for `owners` (its fan-out): the image's record counts the round (once per
   * round), each owner gets a ScanFailed Event, and an error report an older writer left (zero
   * findings: it looks clean) is deleted. No findings report is written. Throws when the record or
   * a report deletion could not be written (the result is retried); an Event that could not be
   * written is counted and logged only.
   */
  failed(r: ImageScanResult, owners: readonly Owner[]): Promise<void>;
  /** An ok result: the image scans again, so its record (if the view holds one) goes. */
  succeeded(r: Pick<ImageScanResult, 'namespace' | 'image'>): Promise<void>;
  /** Failing images by namespace and code, counting only those some owner in the namespace runs. */
  failing(): Map<string, { namespace: string; reason: string; count: number }>;
}

/**
 * The writer owns the failure state (ARCHITECTURE "Failure handling"): the record per (namespace,
 * image) in the cluster's failures bucket that the watcher holds requests by, the Events that
 * tell people, and the counters that tell dashboards.
 */
export function createScanFailures(d: {
  store: Pick<FailureStore, 'get' | 'entries' | 'read' | 'write' | 'delete'>;
  events: EventApi;
  reports: Pick<ReportApi, 'delete'>;
  inventory: Pick<Inventory, 'report' | 'ownersUsingImage'>;
  metrics: WriterMetrics;
  logger: Pick<Logger, 'info' | 'warn'>;
  cluster: string;
  backoff: FailureBackoff;
  random?: () => number;
}): ScanFailures {
  /** The record after `r`, written with compare-and-set; `counted` when it is a new round. */
  async function record(r: ImageScanResult): Promise<{ record: ScanFailureRecord; counted: boolean }> {
    const error = r.error ?? { code: 'FAILED', message: 'scan failed', permanent: false };
    const failed = {
      namespace: r.namespace,
      image: r.image,
      error,
      finishedAt: r.finishedAt,
      ...(r.requestedAt && { requestedAt: r.requestedAt }),
    };
    for (let attempt = 1; ; attempt++) {
      // The view first (no round trip when it is current); after a conflict, the bucket itself.
      const stored =
        attempt === 1
          ? (d.store.get(r.namespace, r.image) ?? (await d.store.read(r.namespace, r.image)))
          : await d.store.read(r.namespace, r.image);
      const next = nextRecord(stored?.record, failed, d.backoff, d.random);
      if (!next && stored?.record) return { record: stored.record, counted: false };
      if (!next) throw new Error('no record after a failure');
      try {
        await d.store.write(next, stored?.revision);
        return { record: next, counted: true };
      } catch (err) {
        if (attempt >= MAX_CAS_ATTEMPTS) throw err;
      }
    }
  }

  /** fleetscan's own error reports of the owners' containers running the image (written before this version). */
  function errorReports(r: ImageScanResult, owners: readonly Owner[]) {
    return owners.flatMap((owner) =>
      ownerReportNames(
        owner,
        owner.containers.filter((c) => c.image === r.image),
      ).containers.flatMap(({ name }) => {
        const report = d.inventory.report(VULNERABILITY_REPORT.kind, owner.namespace, name);
        return report &&
          report.scanError !== undefined &&
          report.managedBy === MANAGED_BY_FLEETSCAN &&
          report.ownerUid === owner.uid
          ? [report]
          : [];
      }),
    );
  }

  return {
    async failed(r, owners) {
      const { record: rec, counted } = await record(r);
      if (counted) {
        d.metrics.scanFailures.inc({ namespace: r.namespace, reason: rec.code });
        d.logger.warn(
          {
            image: bounded(r.image),
            namespace: r.namespace,
            code: rec.code,
            failures: rec.failures,
            retryAt: rec.retryAt,
          },
          'image scan failed; no report written, owners told by an Event, retried at retryAt',
        );
      }
      for (const report of errorReports(r, owners)) {
        await d.reports.delete(VULNERABILITY_REPORT.plural, report.namespace, report.name);
        d.metrics.reports.inc({ kind: VULNERABILITY_REPORT.kind, outcome: 'deleted' });
      }
      for (const owner of owners) {
        try {
          await d.events.upsert(buildScanFailedEvent(owner, rec, d.cluster));
        } catch (err) {
          d.metrics.failures.inc({ reason: 'event' });
          d.logger.warn(
            { owner: `${owner.kind}/${owner.namespace}/${owner.name}`, err: bounded(String(err)) },
            'cannot write the ScanFailed event',
          );
        }
      }
    },

    async succeeded(r) {
      if (!d.store.get(r.namespace, r.image)) return;
      await d.store.delete(r.namespace, r.image);
      d.logger.info(
        { image: bounded(r.image), namespace: r.namespace },
        'image scans again; failure record removed',
      );
    },

    failing() {
      const out = new Map<string, { namespace: string; reason: string; count: number }>();
      for (const { record } of d.store.entries()) {
        if (!d.inventory.ownersUsingImage(record.image).some((o) => o.namespace === record.namespace))
          continue;
        const key = `${record.namespace}\n${record.code}`;
        const e = out.get(key) ?? { namespace: record.namespace, reason: record.code, count: 0 };
        e.count++;
        out.set(key, e);
      }
      return out;
    },
  };
}
