import type { DatabaseSync } from 'node:sqlite';
import type { OwnerChecks } from '@fleetscan/bus';

/**
 * Each owner's failed config checks (`checks`, from the scanners' fleet stream messages) and, per
 * cluster and check, how many of the cluster's owners fail it (`check_counts`), kept up to date
 * as messages arrive so the posture reads the top of an index. Only owners the inventory knows
 * count: a check message may come before its owner's inventory (it counts when the owner comes),
 * and the audits of other kinds (Services, Roles) have no deletion on the stream to undo them.
 */
export interface Checks {
  apply(m: OwnerChecks): void;
  /** The inventory learned of an owner (call before its row exists). */
  ownerAdded(cluster: string, uid: string): void;
  /** The inventory deleted an owner: its checks go. */
  ownerRemoved(cluster: string, uid: string): void;
  /** Owners of a cluster older than `epoch` are about to be dropped: their checks go. */
  staleRemoved(cluster: string, epoch: number): void;
}

export function createChecks(db: DatabaseSync): Checks {
  const q = {
    known: db.prepare('SELECT 1 AS x FROM owners WHERE cluster = ? AND uid = ?'),
    idsOf: db.prepare('SELECT id FROM checks WHERE cluster = ? AND uid = ?'),
    staleIds: db.prepare(
      `SELECT k.id, count(*) AS n FROM owners o JOIN checks k ON k.cluster = o.cluster AND k.uid = o.uid
       WHERE o.cluster = ? AND o.epoch < ? GROUP BY k.id`,
    ),
    deleteStale: db.prepare(
      'DELETE FROM checks WHERE cluster = ? AND uid IN (SELECT uid FROM owners WHERE cluster = ? AND epoch < ?)',
    ),
    deleteOf: db.prepare('DELETE FROM checks WHERE cluster = ? AND uid = ?'),
    insert: db.prepare(
      'INSERT OR REPLACE INTO checks (cluster, uid, id, severity, title) VALUES (?, ?, ?, ?, ?)',
    ),
    add: db.prepare(
      `INSERT INTO check_counts (cluster, id, severity, title, owners) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (cluster, id) DO UPDATE SET owners = owners + ?5, severity = ?3, title = ?4`,
    ),
    addKnown: db.prepare(
      `INSERT INTO check_counts (cluster, id, severity, title, owners)
         SELECT cluster, id, severity, title, 1 FROM checks WHERE cluster = ?1 AND uid = ?2
       ON CONFLICT (cluster, id) DO UPDATE SET owners = owners + 1`,
    ),
    sub: db.prepare('UPDATE check_counts SET owners = owners - ? WHERE cluster = ? AND id = ?'),
    prune: db.prepare('DELETE FROM check_counts WHERE cluster = ? AND owners <= 0'),
  };
  const ids = (cluster: string, uid: string) =>
    (q.idsOf.all(cluster, uid) as { id: string }[]).map((r) => r.id);
  const uncount = (cluster: string, uid: string) => {
    for (const id of ids(cluster, uid)) q.sub.run(1, cluster, id);
    q.prune.run(cluster);
  };

  return {
    apply(m) {
      const counted = q.known.get(m.cluster, m.uid) !== undefined;
      if (counted) uncount(m.cluster, m.uid);
      q.deleteOf.run(m.cluster, m.uid);
      for (const c of m.failed) {
        q.insert.run(m.cluster, m.uid, c.id, c.severity, c.title);
        if (counted) q.add.run(m.cluster, c.id, c.severity, c.title, 1);
      }
    },
    ownerAdded(cluster, uid) {
      if (q.known.get(cluster, uid) === undefined) q.addKnown.run(cluster, uid);
    },
    ownerRemoved(cluster, uid) {
      if (q.known.get(cluster, uid) !== undefined) uncount(cluster, uid);
      q.deleteOf.run(cluster, uid);
    },
    staleRemoved(cluster, epoch) {
      for (const r of q.staleIds.all(cluster, epoch) as { id: string; n: number }[]) {
        q.sub.run(r.n, cluster, r.id);
      }
      q.prune.run(cluster);
      q.deleteStale.run(cluster, cluster, epoch);
    },
  };
}
