import type { DatabaseSync } from 'node:sqlite';

/**
 * "What to fix first", kept up to date at ingest: one row per digest per cluster, and one per
 * digest fleet-wide (scope ''), with the digest's critical and high counts, the workloads running
 * it, and the score (critical + high) × workloads — so the question reads a ranked index instead
 * of joining every scan to every container per call.
 *
 * Whatever may change a digest's row (an owner's containers, a scan's digest or status, the
 * digest's findings) marks the digest; marked digests are recounted from the tables once per
 * transaction (`flush`), so a batch of 500 messages recounts a popular image once, not 500 times.
 * A row exists only for a digest that runs somewhere and has critical or high findings.
 */
export interface Ranking {
  mark(digest: string | null | undefined): void;
  /** Marks every digest a query's rows name (column `digest`). */
  markAll(rows: readonly { digest: string | null }[]): void;
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
  const uses = db.prepare(
    `SELECT s.cluster, group_concat(DISTINCT s.image) AS images, count(DISTINCT c.uid) AS workloads,
        d.critical, d.high
      FROM scans s
      JOIN containers c ON c.cluster = s.cluster AND c.namespace = s.namespace AND c.image = s.image
      JOIN digests d ON d.cluster = s.cluster AND d.fkey = s.fkey
      WHERE s.digest = ? AND s.status = 'ok'
      GROUP BY s.cluster`,
  );
  const drop = db.prepare('DELETE FROM fix_first WHERE digest = ?');
  const insert = db.prepare(
    `INSERT INTO fix_first (scope, digest, images, critical, high, workloads, clusters, score)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const marked = new Set<string>();
  return {
    mark(digest) {
      if (digest) marked.add(digest);
    },
    markAll(rows) {
      for (const r of rows) if (r.digest) marked.add(r.digest);
    },
    flush() {
      for (const digest of marked) {
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
