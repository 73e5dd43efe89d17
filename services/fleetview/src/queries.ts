import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { Severity } from '@fleetscan/reports';

/**
 * The questions the fleet view answers, as SQL over the model (model.ts). Every value reaches
 * SQLite as a bound parameter; every answer is one page (limit, offset) and its total. Joins that
 * start from a finding are written as CROSS JOINs, which SQLite never reorders: left to choose, it
 * may start from every container of a cluster instead of the few scans of one finding's image.
 */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  /** The offset of the next page, or null on the last one. */
  next: number | null;
}

export interface PageParams {
  limit: number;
  offset: number;
}

/**
 * One page of `sql`'s rows in `order` (columns of its result), and their total. Two passes (a count,
 * then the sort with a limit, which keeps only the page's rows) cost less than one pass with a
 * window count, which holds every row of a large answer.
 */
function page<T>(
  db: DatabaseSync,
  sql: string,
  order: string,
  args: SQLInputValue[],
  p: PageParams,
): Page<T> {
  const total = Number((db.prepare(`SELECT count(*) AS n FROM (${sql})`).get(...args) as { n: number }).n);
  const items = db
    .prepare(`SELECT * FROM (${sql}) ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...args, p.limit, p.offset) as T[];
  return {
    items,
    total,
    limit: p.limit,
    offset: p.offset,
    next: p.offset + p.limit < total ? p.offset + p.limit : null,
  };
}

const REF_JOIN = 'c.cluster = s.cluster AND c.namespace = s.namespace AND c.image = s.image';
/** A scan to its image's findings (kept once per digest, model.ts). */
const KEY_JOIN = 's.cluster = f.cluster AND s.fkey = f.fkey';

export interface VulnerabilityRow {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
  container: string;
  image: string;
  digest: string | null;
  severity: Severity;
  pkg: string;
  installed: string;
  fixed: string;
  title: string;
  firstSeen: number;
  scannedAt: string | null;
}

export interface VulnerabilityFilter extends PageParams {
  id: string;
  cluster?: string | undefined;
  namespace?: string | undefined;
  severities?: readonly Severity[] | undefined;
  fixable?: boolean | undefined;
}

/** Where does vulnerability `id` run: every workload container whose image has it. */
export function whereVulnerability(db: DatabaseSync, f: VulnerabilityFilter): Page<VulnerabilityRow> {
  const where = ['f.id = ?'];
  const args: SQLInputValue[] = [f.id];
  if (f.cluster) {
    where.push('f.cluster = ?');
    args.push(f.cluster);
  }
  if (f.namespace !== undefined) {
    where.push('s.namespace = ?');
    args.push(f.namespace);
  }
  if (f.severities?.length) {
    where.push(`f.severity IN (${f.severities.map(() => '?').join(', ')})`);
    args.push(...f.severities);
  }
  if (f.fixable) where.push("f.fixed != ''");
  const sql = `SELECT f.cluster, s.namespace, o.kind, o.name, c.container, s.image, s.digest, f.severity,
      f.pkg, f.installed, f.fixed, f.title, f.first_seen AS firstSeen, s.scanned_at AS scannedAt
    FROM findings f
    CROSS JOIN scans s INDEXED BY scans_fkey ON ${KEY_JOIN}
    CROSS JOIN containers c ON ${REF_JOIN}
    CROSS JOIN owners o ON o.cluster = c.cluster AND o.uid = c.uid
    WHERE ${where.join(' AND ')}`;
  return page<VulnerabilityRow>(
    db,
    sql,
    'cluster, namespace, kind, name, container, pkg, installed',
    args,
    f,
  );
}

export interface DigestRow {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
  container: string;
  image: string;
  status: string | null;
  scannedAt: string | null;
  critical: number | null;
  high: number | null;
  medium: number | null;
  low: number | null;
  unknown: number | null;
}

/** Where does image digest `digest` run: workloads whose image resolved to it, or whose pods report it. */
export function whereDigest(
  db: DatabaseSync,
  digest: string,
  p: PageParams,
): Page<DigestRow> & {
  findings: { id: string; severity: string; pkg: string; installed: string; fixed: string; title: string }[];
} {
  const cols = `c.cluster, c.namespace, o.kind, o.name, c.container, c.image, s.status, s.scanned_at AS scannedAt,
      s.critical, s.high, s.medium, s.low, s.unknown`;
  const sql = `SELECT ${cols} FROM scans s JOIN containers c ON ${REF_JOIN}
      JOIN owners o ON o.cluster = c.cluster AND o.uid = c.uid WHERE s.digest = ?
    UNION
    SELECT ${cols} FROM containers c JOIN owners o ON o.cluster = c.cluster AND o.uid = c.uid
      LEFT JOIN scans s ON ${REF_JOIN} WHERE c.digest = ?`;
  const rows = page<DigestRow>(db, sql, 'cluster, namespace, kind, name, container', [digest, digest], p);
  // One scan of the digest speaks for its findings (the same image, the same DB, the fleet's settings).
  const findings = db
    .prepare(
      `SELECT f.id, f.severity, f.pkg, f.installed, f.fixed, f.title FROM findings f
       JOIN (SELECT cluster, fkey FROM scans WHERE digest = ? AND status = 'ok'
             ORDER BY scanned_at DESC LIMIT 1) latest
         ON latest.cluster = f.cluster AND latest.fkey = f.fkey
       ORDER BY CASE f.severity WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END, f.id
       LIMIT 1000`,
    )
    .all(digest) as {
    id: string;
    severity: string;
    pkg: string;
    installed: string;
    fixed: string;
    title: string;
  }[];
  return { ...rows, findings };
}

export interface FixFirstRow {
  digest: string;
  images: string;
  critical: number;
  high: number;
  workloads: number;
  clusters: number;
  score: number;
}

/** What to fix first: image digests ranked by (critical + high) × the workloads running them. */
export function fixFirst(
  db: DatabaseSync,
  f: PageParams & { cluster?: string | undefined },
): Page<FixFirstRow> {
  // Kept ranked at ingest (ranking.ts): fleet-wide is scope ''.
  const sql = `SELECT digest, images, critical, high, workloads, clusters, score FROM fix_first
    WHERE scope = ?`;
  return page<FixFirstRow>(db, sql, 'score DESC, critical DESC, digest', [f.cluster ?? ''], f);
}

export interface NewRow {
  id: string;
  severity: Severity;
  firstSeen: number;
  /** The DB version (ms) of the scan that first found it, when its scanner said. */
  firstDb: number | null;
  cluster: string;
  namespace: string;
  image: string;
  digest: string | null;
  pkg: string;
  installed: string;
  fixed: string;
  workloads: number;
}

/**
 * What is new: findings first seen at or after `since` (ms), or first found with a DB newer than
 * `sinceDb` (ms), in images that run somewhere.
 */
export function newSince(
  db: DatabaseSync,
  f: PageParams & {
    since?: number | undefined;
    sinceDb?: number | undefined;
    cluster?: string | undefined;
    severities?: readonly Severity[] | undefined;
  },
): Page<NewRow> {
  const byDb = f.sinceDb !== undefined;
  const where = byDb ? ['f.first_db > ?'] : ['f.first_seen >= ?'];
  const args: SQLInputValue[] = [f.sinceDb ?? f.since ?? 0];
  if (f.cluster) {
    where.push('f.cluster = ?');
    args.push(f.cluster);
  }
  if (f.severities?.length) {
    where.push(`f.severity IN (${f.severities.map(() => '?').join(', ')})`);
    args.push(...f.severities);
  }
  // Whether a scan's image runs is asked of every row; how many workloads run it, of the page's only.
  const sql = `SELECT f.id, f.severity, f.first_seen AS firstSeen, f.first_db AS firstDb, f.cluster,
        s.namespace, s.image, s.digest, f.pkg, f.installed, f.fixed
      FROM findings f INDEXED BY ${byDb ? 'findings_first_db' : 'findings_first_seen'}
      CROSS JOIN scans s INDEXED BY scans_fkey ON ${KEY_JOIN}
      WHERE ${where.join(' AND ')} AND EXISTS (SELECT 1 FROM containers c WHERE ${REF_JOIN})`;
  const rows = page<Omit<NewRow, 'workloads'>>(
    db,
    sql,
    'firstSeen DESC, id, cluster, namespace, image, pkg',
    args,
    f,
  );
  const workloads = db.prepare(
    'SELECT count(DISTINCT uid) AS n FROM containers WHERE cluster = ? AND namespace = ? AND image = ?',
  );
  return {
    ...rows,
    items: rows.items.map((r) => ({
      ...r,
      workloads: Number((workloads.get(r.cluster, r.namespace, r.image) as { n: number }).n),
    })),
  };
}

export interface ClusterRow {
  cluster: string;
  lastSeen: string | null;
  syncedAt: string | null;
  owners: number;
  containers: number;
  scanned: number;
  /** Containers whose image has no result yet. */
  backlog: number;
  /** Containers whose image's last scan failed. */
  failed: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
  /** The config checks most of the cluster's owners fail, most first (TOP_CHECKS at most). */
  topFailingChecks: FailingCheck[];
}

export interface FailingCheck {
  id: string;
  severity: Severity;
  title: string;
  /** Owners of the cluster whose last config audit failed the check. */
  owners: number;
}

/** Failing checks listed per cluster. */
export const TOP_CHECKS = 10;

/**
 * Per-cluster posture: last seen, owners, scan backlog and failures, findings by severity in
 * running containers, and the config checks most owners fail (kept counted at ingest, checks.ts).
 */
export function clusterPosture(db: DatabaseSync): ClusterRow[] {
  const top = db
    .prepare(
      `SELECT cluster, id, severity, title, owners FROM (
        SELECT *, row_number() OVER (PARTITION BY cluster ORDER BY owners DESC,
          CASE severity WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END, id) AS n
        FROM check_counts WHERE owners > 0)
      WHERE n <= ? ORDER BY cluster, n`,
    )
    .all(TOP_CHECKS) as unknown as (FailingCheck & { cluster: string })[];
  const checksOf = new Map<string, FailingCheck[]>();
  for (const { cluster, ...c } of top) checksOf.set(cluster, [...(checksOf.get(cluster) ?? []), c]);
  const rows = db
    .prepare(
      `SELECT cl.cluster, cl.last_seen AS lastSeen, cl.synced_at AS syncedAt,
        (SELECT count(*) FROM owners o WHERE o.cluster = cl.cluster) AS owners,
        count(c.uid) AS containers,
        count(s.image) AS scanned,
        count(c.uid) - count(s.image) AS backlog,
        coalesce(sum(s.status = 'error'), 0) AS failed,
        coalesce(sum(s.critical), 0) AS critical, coalesce(sum(s.high), 0) AS high,
        coalesce(sum(s.medium), 0) AS medium, coalesce(sum(s.low), 0) AS low, coalesce(sum(s.unknown), 0) AS unknown
      FROM clusters cl
      LEFT JOIN containers c ON c.cluster = cl.cluster
      LEFT JOIN scans s ON ${REF_JOIN}
      GROUP BY cl.cluster ORDER BY cl.cluster`,
    )
    .all() as unknown as Omit<ClusterRow, 'topFailingChecks'>[];
  return rows.map((r) => ({ ...r, topFailingChecks: checksOf.get(r.cluster) ?? [] }));
}
