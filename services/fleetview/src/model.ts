import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ImageFindings, InventoryMessage, OwnerChecks } from '@fleetscan/bus';
import { createChecks } from './checks.ts';
import { createDigestFindings, findingsKeyOf } from './digest-findings.ts';
import { createRanking } from './ranking.ts';
import { applySchema, emptyTables } from './schema.ts';

/**
 * The fleet view's read model: every cluster's owners and containers (from the watchers'
 * inventory) and each analysed image's findings (from the scanners), in SQLite (tables in
 * schema.ts). Containers reach findings through `scans`, which maps (cluster, namespace, image) —
 * the pair an image request answers — to its answer's findings key (of its digest and content);
 * each key's findings are kept once (digest-findings.ts), "what to fix first" is kept ranked
 * (ranking.ts) and each cluster's failing config checks counted (checks.ts).
 * Everything in it comes from the fleet stream, so dropping it and reading the stream from the
 * start rebuilds it.
 */
export interface FleetModel {
  readonly db: DatabaseSync;
  applyInventory(m: InventoryMessage): void;
  applyFindings(m: ImageFindings): void;
  applyChecks(m: OwnerChecks): void;
  /** Everything applied up to this stream sequence is in the model (kept with the data). */
  setLastSeq(seq: number, atMs: number): void;
  lastSeq(): number;
  /** When the last batch was applied (ms), 0 if never. */
  savedAt(): number;
  /** Empties the model (before a rebuild from the stream's start). */
  reset(): void;
  /** Runs `fn` in one transaction: a batch of messages is applied together. */
  transaction(fn: () => void): void;
  counts(): Record<'owners' | 'containers' | 'scans' | 'digests' | 'findings' | 'checks', number>;
}

const REF_JOIN = 'c.cluster = s.cluster AND c.namespace = s.namespace AND c.image = s.image';

export function createModel(db: DatabaseSync): FleetModel {
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;');
  applySchema(db);
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
    ownerDigests: st(
      `SELECT DISTINCT s.digest FROM containers c JOIN scans s ON ${REF_JOIN}
       WHERE c.cluster = ? AND c.uid = ? AND s.digest IS NOT NULL`,
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
    staleDigests: st(
      `SELECT DISTINCT s.digest FROM owners o JOIN containers c ON c.cluster = o.cluster AND c.uid = o.uid
       JOIN scans s ON ${REF_JOIN} WHERE o.cluster = ? AND o.epoch < ? AND s.digest IS NOT NULL`,
    ),
    dropStaleContainers: st(
      'DELETE FROM containers WHERE cluster = ? AND uid IN (SELECT uid FROM owners WHERE cluster = ? AND epoch < ?)',
    ),
    dropStaleOwners: st('DELETE FROM owners WHERE cluster = ? AND epoch < ?'),
    scanOf: st('SELECT digest, fkey FROM scans WHERE cluster = ? AND namespace = ? AND image = ?'),
    upsertScan: st(
      `INSERT OR REPLACE INTO scans (cluster, namespace, image, digest, fkey, status, error_code, error, scanned_at,
         db_updated_at, critical, high, medium, low, unknown, omitted, published_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getMeta: st('SELECT value FROM meta WHERE key = ?'),
    setMeta: st('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };
  const digestFindings = createDigestFindings(db);
  const ranking = createRanking(db);
  const checks = createChecks(db);
  // Outside a transaction each change is ranked at once; inside, once at its end.
  let inTransaction = false;
  const ranked = () => {
    if (!inTransaction) ranking.flush();
  };
  const markOwner = (cluster: string, uid: string) =>
    ranking.markAll(cluster, q.ownerDigests.all(cluster, uid) as { digest: string | null }[]);

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
          checks.ownerAdded(m.cluster, m.uid);
          q.upsertOwner.run(m.cluster, m.uid, m.kind, m.namespace, m.name, m.epoch, m.at);
          markOwner(m.cluster, m.uid);
          q.deleteContainers.run(m.cluster, m.uid);
          for (const c of m.containers) {
            q.insertContainer.run(m.cluster, m.uid, c.name, m.namespace, c.image, c.digest ?? null);
          }
          markOwner(m.cluster, m.uid);
          return ranked();
        }
        case 'deleted':
          markOwner(m.cluster, m.uid);
          checks.ownerRemoved(m.cluster, m.uid);
          q.deleteContainers.run(m.cluster, m.uid);
          q.deleteOwner.run(m.cluster, m.uid);
          return ranked();
        case 'synced':
          q.setSynced.run(m.cluster, m.epoch, m.at, m.at);
          // Owners a previous watcher published and nobody deleted: gone while no watcher ran.
          ranking.markAll(m.cluster, q.staleDigests.all(m.cluster, m.epoch) as { digest: string | null }[]);
          checks.staleRemoved(m.cluster, m.epoch);
          q.dropStaleContainers.run(m.cluster, m.cluster, m.epoch);
          q.dropStaleOwners.run(m.cluster, m.epoch);
          return ranked();
      }
    },
    applyFindings(m) {
      const count = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 };
      for (const f of m.findings) count[f.severity]++;
      const fkey = findingsKeyOf(m);
      const before = q.scanOf.get(m.cluster, m.namespace, m.image) as
        | { digest: string | null; fkey: string }
        | undefined;
      q.upsertScan.run(
        m.cluster,
        m.namespace,
        m.image,
        m.digest ?? null,
        fkey,
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
      digestFindings.store(m, fkey);
      // The image now runs another digest here: the old one's findings go when nothing runs it.
      if (before && before.fkey !== fkey) digestFindings.dropIfUnused(m.cluster, before.fkey);
      ranking.mark(m.cluster, before?.digest);
      ranking.mark(m.cluster, m.digest);
      ranked();
    },
    applyChecks(m) {
      checks.apply(m);
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
      emptyTables(db);
    },
    transaction(fn) {
      db.exec('BEGIN');
      inTransaction = true;
      try {
        fn();
        ranking.flush();
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      } finally {
        inTransaction = false;
      }
    },
    counts() {
      const n = (t: string) =>
        Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
      return {
        owners: n('owners'),
        containers: n('containers'),
        scans: n('scans'),
        digests: n('digests'),
        findings: n('findings'),
        checks: n('checks'),
      };
    },
  };
}
