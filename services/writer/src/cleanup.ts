import type { Inventory, Owner, ReportRef } from '@fleetscan/inventory';
import { MANAGED_BY_FLEETSCAN, ownerReports, REPORT_RESOURCES } from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { ReportApi } from './apply.ts';
import type { WriterMetrics } from './metrics.ts';

/**
 * Removes reports whose owner no longer owns reports but still exists — a
 * Deployment's superseded ReplicaSet scaled to zero keeps its reports
 * forever otherwise, since the garbage collector only acts when it is
 * deleted (trivy-operator issue #3069). Only fleetscan's own reports are
 * touched.
 */
export function createCleanup(d: {
  inventory: Pick<Inventory, 'report' | 'reports' | 'ownerByUid'>;
  /**
   * The owner kinds the inventory watches. A report of another kind (a ClusterRole's, when
   * ClusterRoles are not audited here) has an owner this writer cannot see: the sweep leaves it.
   */
  ownerKinds: ReadonlySet<string>;
  api: Pick<ReportApi, 'delete'>;
  metrics: WriterMetrics;
  logger: Logger;
}) {
  const suspects = new Set<string>();

  async function remove(r: ReportRef, why: string): Promise<void> {
    try {
      await d.api.delete(REPORT_RESOURCES[r.kind].plural, r.namespace, r.name);
      d.metrics.reports.inc({ kind: r.kind, outcome: 'deleted' });
      d.logger.info(
        { report: `${r.kind}/${r.namespace}/${r.name}`, why },
        'deleted report of a former owner',
      );
    } catch (err) {
      d.metrics.failures.inc({ reason: 'delete' });
      d.logger.warn({ report: `${r.namespace}/${r.name}`, err: String(err) }, 'deleting a report failed');
    }
  }

  return {
    /** `prev` stopped being a report owner (scaled to zero, terminating, deleted): drop its reports now. */
    async ownerGone(prev: Owner): Promise<void> {
      for (const { kind, name } of ownerReports(prev, prev.containers)) {
        const r = d.inventory.report(kind, prev.namespace, name);
        if (r && r.ownerUid === prev.uid && r.managedBy === MANAGED_BY_FLEETSCAN)
          await remove(r, 'owner no longer owns reports');
      }
    },
    /**
     * Catches what events missed (e.g. while the writer was down): a report
     * whose owner is not a current owner on two sweeps in a row is deleted.
     */
    async sweep(): Promise<void> {
      const orphans = new Set<string>();
      for (const r of d.inventory.reports()) {
        if (r.managedBy !== MANAGED_BY_FLEETSCAN || !r.ownerUid || d.inventory.ownerByUid(r.ownerUid))
          continue;
        if (!d.ownerKinds.has(r.resourceKind ?? '')) continue;
        orphans.add(r.uid);
        if (suspects.has(r.uid)) await remove(r, 'owner not a report owner on two sweeps');
      }
      suspects.clear();
      for (const u of orphans) suspects.add(u);
    },
  };
}
