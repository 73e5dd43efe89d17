import type { DatabaseSync } from 'node:sqlite';

/**
 * The read model's tables (model.ts keeps them). Inventory: `owners` and their `containers`, each
 * cluster's sync state in `clusters`. Findings are kept once per distinct answer about an image:
 * `scans` maps each (cluster, namespace, image) a scanner answered to its findings key (`fkey`: a
 * hash of the digest, or of the reference when a scan named none, and of the answer's content:
 * digest-findings.ts), `digests` holds each key's critical and high counts, `findings` each key's
 * findings — an image running in 100 namespaces is stored once, not 100 times. `fix_first` is
 * "what to fix first" kept ranked at ingest (ranking.ts), per cluster and fleet-wide (scope ''),
 * so the question is an indexed read rather than an aggregation; `digest_uses` keeps each digest's
 * use per cluster it is made from. `checks` holds each owner's failed config checks and
 * `check_counts` how many owners of a cluster fail each (checks.ts). Times that are compared (first
 * seen, a finding's first DB version) are kept as milliseconds: ISO strings of different precision
 * do not sort as times.
 */
export const SCHEMA_VERSION = 6;

const TABLES = [
  'owners',
  'containers',
  'clusters',
  'scans',
  'digests',
  'findings',
  'digest_uses',
  'fix_first',
  'checks',
  'check_counts',
  'meta',
];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS owners (
  cluster TEXT NOT NULL, uid TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
  name TEXT NOT NULL, epoch INTEGER NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (cluster, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS owners_epoch ON owners (cluster, epoch);
CREATE TABLE IF NOT EXISTS containers (
  cluster TEXT NOT NULL, uid TEXT NOT NULL, container TEXT NOT NULL, namespace TEXT NOT NULL,
  image TEXT NOT NULL, digest TEXT,
  PRIMARY KEY (cluster, uid, container)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS containers_ref ON containers (cluster, namespace, image);
CREATE INDEX IF NOT EXISTS containers_digest ON containers (digest) WHERE digest IS NOT NULL;
CREATE TABLE IF NOT EXISTS clusters (
  cluster TEXT PRIMARY KEY, synced_epoch INTEGER NOT NULL DEFAULT 0, synced_at TEXT, last_seen TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scans (
  cluster TEXT NOT NULL, namespace TEXT NOT NULL, image TEXT NOT NULL, digest TEXT, fkey TEXT NOT NULL,
  status TEXT NOT NULL, error_code TEXT, error TEXT, scanned_at TEXT, db_updated_at TEXT,
  critical INTEGER NOT NULL, high INTEGER NOT NULL, medium INTEGER NOT NULL, low INTEGER NOT NULL,
  unknown INTEGER NOT NULL, omitted INTEGER NOT NULL, published_at TEXT NOT NULL,
  PRIMARY KEY (cluster, namespace, image)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scans_digest ON scans (digest, cluster);
-- Covering for the joins from a finding: namespace and image come with the primary key.
CREATE INDEX IF NOT EXISTS scans_fkey ON scans (cluster, fkey, digest, scanned_at);
CREATE TABLE IF NOT EXISTS digests (
  cluster TEXT NOT NULL, fkey TEXT NOT NULL, critical INTEGER NOT NULL, high INTEGER NOT NULL,
  PRIMARY KEY (cluster, fkey)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings (
  cluster TEXT NOT NULL, fkey TEXT NOT NULL, id TEXT NOT NULL,
  severity TEXT NOT NULL, pkg TEXT NOT NULL, installed TEXT NOT NULL, fixed TEXT NOT NULL,
  title TEXT NOT NULL, first_seen INTEGER NOT NULL, first_db INTEGER,
  PRIMARY KEY (cluster, fkey, id, pkg, installed)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS findings_id ON findings (id);
CREATE INDEX IF NOT EXISTS findings_first_seen ON findings (first_seen);
CREATE INDEX IF NOT EXISTS findings_first_db ON findings (first_db);
CREATE TABLE IF NOT EXISTS digest_uses (
  digest TEXT NOT NULL, cluster TEXT NOT NULL, images TEXT NOT NULL, workloads INTEGER NOT NULL,
  critical INTEGER NOT NULL, high INTEGER NOT NULL,
  PRIMARY KEY (digest, cluster)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fix_first (
  scope TEXT NOT NULL, digest TEXT NOT NULL, images TEXT NOT NULL, critical INTEGER NOT NULL,
  high INTEGER NOT NULL, workloads INTEGER NOT NULL, clusters INTEGER NOT NULL, score INTEGER NOT NULL,
  PRIMARY KEY (scope, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fix_first_rank ON fix_first (scope, score DESC, critical DESC, digest);
CREATE INDEX IF NOT EXISTS fix_first_digest ON fix_first (digest);
CREATE TABLE IF NOT EXISTS checks (
  cluster TEXT NOT NULL, uid TEXT NOT NULL, id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL,
  PRIMARY KEY (cluster, uid, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS check_counts (
  cluster TEXT NOT NULL, id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, owners INTEGER NOT NULL,
  PRIMARY KEY (cluster, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS check_counts_top ON check_counts (cluster, owners DESC, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

/**
 * Creates the tables; a model file of another schema version is emptied first — it is derived
 * data, and its last sequence goes with it, so the model is rebuilt from the stream.
 */
export function applySchema(db: DatabaseSync): void {
  const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (version !== SCHEMA_VERSION) {
    for (const t of TABLES) db.exec(`DROP TABLE IF EXISTS ${t}`);
  }
  db.exec(SCHEMA);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
}

/** Empties every table (before a rebuild from the stream's start). */
export function emptyTables(db: DatabaseSync): void {
  db.exec(TABLES.map((t) => `DELETE FROM ${t};`).join(' '));
}
