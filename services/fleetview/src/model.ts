import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ImageFindings, InventoryMessage } from '@fleetscan/bus';

/**
 * The fleet view's read model: every cluster's owners and containers (from the watchers'
 * inventory) and each image's findings per namespace (from the scanners), in SQLite, joined on
 * (cluster, namespace, image) — the pair an image request answers. Everything in it comes from
 * the fleet stream, so dropping it and reading the stream from the start rebuilds it.
 * Times that are compared (first seen) are kept as milliseconds: ISO strings of different
 * precision do not sort as times.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS owners (
  cluster TEXT NOT NULL, uid TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL,
  name TEXT NOT NULL, epoch INTEGER NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (cluster, uid)
) WITHOUT ROWID;
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
  cluster TEXT NOT NULL, namespace TEXT NOT NULL, image TEXT NOT NULL, digest TEXT,
  status TEXT NOT NULL, error_code TEXT, error TEXT, scanned_at TEXT, db_updated_at TEXT,
  critical INTEGER NOT NULL, high INTEGER NOT NULL, medium INTEGER NOT NULL, low INTEGER NOT NULL,
  unknown INTEGER NOT NULL, omitted INTEGER NOT NULL, published_at TEXT NOT NULL,
  PRIMARY KEY (cluster, namespace, image)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scans_digest ON scans (digest);
CREATE TABLE IF NOT EXISTS findings (
  cluster TEXT NOT NULL, namespace TEXT NOT NULL, image TEXT NOT NULL, id TEXT NOT NULL,
  severity TEXT NOT NULL, pkg TEXT NOT NULL, installed TEXT NOT NULL, fixed TEXT NOT NULL,
  title TEXT NOT NULL, first_seen INTEGER NOT NULL,
  PRIMARY KEY (cluster, namespace, image, id, pkg, installed)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS findings_id ON findings (id);
CREATE INDEX IF NOT EXISTS findings_first_seen ON findings (first_seen);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

export interface FleetModel {
  readonly db: DatabaseSync;
  applyInventory(m: InventoryMessage): void;
  applyFindings(m: ImageFindings): void;
  /** Everything applied up to this stream sequence is in the model (kept with the data). */
  setLastSeq(seq: number, atMs: number): void;
  lastSeq(): number;
  /** When the last batch was applied (ms), 0 if never. */
  savedAt(): number;
  /** Empties the model (before a rebuild from the stream's start). */
  reset(): void;
  /** Runs `fn` in one transaction: a batch of messages is applied together. */
  transaction(fn: () => void): void;
  counts(): Record<'owners' | 'containers' | 'scans' | 'findings', number>;
}

export function createModel(db: DatabaseSync): FleetModel {
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;');
  db.exec(SCHEMA);
  const st = (sql: string): StatementSync => db.prepare(sql);
  const q = {
    clusterEpoch: st('SELECT synced_epoch AS e FROM clusters WHERE cluster = ?'),
    touchCluster: st(
      `INSERT INTO clusters (cluster, last_seen) VALUES (?, ?)
       ON CONFLICT (cluster) DO UPDATE SET last_seen = max(coalesce(last_seen, ''), excluded.last_seen)`,
    ),
    upsertOwner: st(
      `INSERT INTO owners (cluster, uid, kind, namespace, name, epoch, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cluster, uid) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace,
         name = excluded.name, epoch = excluded.epoch, at = excluded.at`,
    ),
    deleteContainers: st('DELETE FROM containers WHERE cluster = ? AND uid = ?'),
    insertContainer: st(
      'INSERT OR REPLACE INTO containers (cluster, uid, container, namespace, image, digest) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteOwner: st('DELETE FROM owners WHERE cluster = ? AND uid = ?'),
    setSynced: st(
      `INSERT INTO clusters (cluster, synced_epoch, synced_at, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (cluster) DO UPDATE SET synced_epoch = max(synced_epoch, excluded.synced_epoch),
         synced_at = excluded.synced_at, last_seen = max(coalesce(last_seen, ''), excluded.last_seen)`,
    ),
    dropStaleContainers: st(
      'DELETE FROM containers WHERE cluster = ? AND uid IN (SELECT uid FROM owners WHERE cluster = ? AND epoch < ?)',
    ),
    dropStaleOwners: st('DELETE FROM owners WHERE cluster = ? AND epoch < ?'),
    upsertScan: st(
      `INSERT OR REPLACE INTO scans (cluster, namespace, image, digest, status, error_code, error, scanned_at,
         db_updated_at, critical, high, medium, low, unknown, omitted, published_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteFindings: st('DELETE FROM findings WHERE cluster = ? AND namespace = ? AND image = ?'),
    insertFinding: st(
      `INSERT OR IGNORE INTO findings (cluster, namespace, image, id, severity, pkg, installed, fixed, title, first_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getMeta: st('SELECT value FROM meta WHERE key = ?'),
    setMeta: st('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };

  const epochOf = (cluster: string) =>
    Number((q.clusterEpoch.get(cluster) as { e?: number } | undefined)?.e ?? 0);

  return {
    db,
    applyInventory(m) {
      q.touchCluster.run(m.cluster, m.at);
      switch (m.type) {
        case 'owner': {
          // Published by a watcher older than the cluster's last complete inventory: already replaced or gone.
          if (m.epoch < epochOf(m.cluster)) return;
          q.upsertOwner.run(m.cluster, m.uid, m.kind, m.namespace, m.name, m.epoch, m.at);
          q.deleteContainers.run(m.cluster, m.uid);
          for (const c of m.containers) {
            q.insertContainer.run(m.cluster, m.uid, c.name, m.namespace, c.image, c.digest ?? null);
          }
          return;
        }
        case 'deleted':
          q.deleteContainers.run(m.cluster, m.uid);
          q.deleteOwner.run(m.cluster, m.uid);
          return;
        case 'synced':
          q.setSynced.run(m.cluster, m.epoch, m.at, m.at);
          // Owners a previous watcher published and nobody deleted: gone while no watcher ran.
          q.dropStaleContainers.run(m.cluster, m.cluster, m.epoch);
          q.dropStaleOwners.run(m.cluster, m.epoch);
          return;
      }
    },
    applyFindings(m) {
      const count = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 };
      for (const f of m.findings) count[f.severity]++;
      q.upsertScan.run(
        m.cluster,
        m.namespace,
        m.image,
        m.digest ?? null,
        m.status,
        m.error?.code ?? null,
        m.error?.message ?? null,
        m.scannedAt ?? null,
        m.dbUpdatedAt ?? null,
        count.CRITICAL,
        count.HIGH,
        count.MEDIUM,
        count.LOW,
        count.UNKNOWN,
        m.omitted,
        m.publishedAt,
      );
      q.deleteFindings.run(m.cluster, m.namespace, m.image);
      for (const f of m.findings) {
        q.insertFinding.run(
          m.cluster,
          m.namespace,
          m.image,
          f.id,
          f.severity,
          f.pkg,
          f.installed,
          f.fixed,
          f.title,
          Date.parse(f.firstSeen),
        );
      }
    },
    setLastSeq(seq, atMs) {
      q.setMeta.run('last_seq', String(seq));
      q.setMeta.run('saved_at', String(atMs));
    },
    lastSeq() {
      return Number((q.getMeta.get('last_seq') as { value?: string } | undefined)?.value ?? 0);
    },
    savedAt() {
      return Number((q.getMeta.get('saved_at') as { value?: string } | undefined)?.value ?? 0);
    },
    reset() {
      db.exec(
        'DELETE FROM owners; DELETE FROM containers; DELETE FROM clusters; DELETE FROM scans; DELETE FROM findings; DELETE FROM meta;',
      );
    },
    transaction(fn) {
      db.exec('BEGIN');
      try {
        fn();
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    counts() {
      const n = (t: string) =>
        Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
      return { owners: n('owners'), containers: n('containers'), scans: n('scans'), findings: n('findings') };
    },
  };
}
