import type { DatabaseSync } from 'node:sqlite';

/**
 * "What to fix first", kept up to date at ingest: one row per digest per cluster, and one per
 * digest fleet-wide (scope ''), with the digest's critical and high counts, the workloads running
 * it, and the score (critical + high) × workloads — so the question reads a ranked index instead
 * of joining every scan to every container per call.
 *
 * Whatever may change a digest's use in a cluster (an owner's containers, a scan's digest or
 * status, the digest's findings) marks the (cluster, digest); marked pairs are recounted from the
 * tables once per transaction (`flush`), so a batch of 500 messages recounts a popular image once,
 * not 500 times, and only in the cluster that changed: each cluster's use is kept (`digest_uses`)
 * and the fleet-wide row is made from them. A row of `fix_first` exists only for a digest that
 * runs somewhere and has critical or high findings.
 */
export interface Ranking {
  mark(cluster: string, digest: string | null | undefined): void;
  /** Marks every digest a query's rows name (column `digest`), in one cluster. */
  markAll(cluster: string, rows: readonly { digest: string | null }[]): void;
  /** Recounts the marked digests. */
  flush(): void;
}

export interface ClusterUse {
  cluster: string;
  images: string;
  workloads: number;
  critical: number;
  high: number;
}

export interface RankRow {
  scope: string;
  images: string;
  critical: number;
  high: number;
  workloads: number;
  clusters: number;
}

const images = (lists: readonly string[]) =>
  [...new Set(lists.flatMap((l) => (l ? l.split(',') : [])))].sort().join(',');

/** A digest's rows from its use per cluster (pure): per cluster, and fleet-wide. */
export function rankRows(uses: readonly ClusterUse[]): RankRow[] {
  const running = uses.filter((u) => u.workloads > 0);
  const rows: RankRow[] = running.map((u) => ({
    scope: u.cluster,
    images: images([u.images]),
    critical: u.critical,
    high: u.high,
    workloads: u.workloads,
    clusters: 1,
  }));
  if (running.length > 0) {
    rows.push({
      scope: '',
      images: images(running.map((u) => u.images)),
      critical: Math.max(...running.map((u) => u.critical)),
      high: Math.max(...running.map((u) => u.high)),
      workloads: running.reduce((n, u) => n + u.workloads, 0),
      clusters: running.length,
    });
  }
  return rows.filter((r) => r.critical + r.high > 0);
}

export function createRanking(db: DatabaseSync): Ranking {
  // The digest's scans in one cluster (scans_digest: digest, cluster), the most severe of their
  // answers' counts (namespaces re-matched with different DBs may differ).
  const use = db.prepare(
    `SELECT s.cluster, group_concat(DISTINCT s.image) AS images, count(DISTINCT c.uid) AS workloads,
        max(d.critical) AS critical, max(d.high) AS high
      FROM scans s INDEXED BY scans_digest
      CROSS JOIN containers c ON c.cluster = s.cluster AND c.namespace = s.namespace AND c.image = s.image
      JOIN digests d ON d.cluster = s.cluster AND d.fkey = s.fkey
      WHERE s.digest = ?2 AND s.cluster = ?1 AND s.status = 'ok'
      GROUP BY s.cluster`,
  );
  const keepUse = db.prepare(
    `INSERT OR REPLACE INTO digest_uses (digest, cluster, images, workloads, critical, high)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const dropUse = db.prepare('DELETE FROM digest_uses WHERE digest = ? AND cluster = ?');
  const uses = db.prepare(
    'SELECT cluster, images, workloads, critical, high FROM digest_uses WHERE digest = ?',
  );
  const drop = db.prepare('DELETE FROM fix_first WHERE digest = ?');
  const insert = db.prepare(
    `INSERT INTO fix_first (scope, digest, images, critical, high, workloads, clusters, score)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  /** digest → the clusters where it was marked. */
  const marked = new Map<string, Set<string>>();
  const mark = (cluster: string, digest: string | null | undefined) => {
    if (!digest) return;
    const clusters = marked.get(digest) ?? new Set<string>();
    clusters.add(cluster);
    marked.set(digest, clusters);
  };
  return {
    mark,
    markAll(cluster, rows) {
      for (const r of rows) mark(cluster, r.digest);
    },
    flush() {
      for (const [digest, clusters] of marked) {
        for (const cluster of clusters) {
          const u = use.get(cluster, digest) as ClusterUse | undefined;
          if (u && u.workloads > 0) keepUse.run(digest, cluster, u.images, u.workloads, u.critical, u.high);
          else dropUse.run(digest, cluster);
        }
        drop.run(digest);
        for (const r of rankRows(uses.all(digest) as unknown as ClusterUse[])) {
          insert.run(
            r.scope,
            digest,
            r.images,
            r.critical,
            r.high,
            r.workloads,
            r.clusters,
            (r.critical + r.high) * r.workloads,
          );
        }
      }
      marked.clear();
    },
  };
}
