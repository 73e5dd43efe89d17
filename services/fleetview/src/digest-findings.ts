import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { findingsKey, type ImageFindings } from '@fleetscan/bus';

/**
 * Findings kept once per analysed image (cluster, findings key), whichever namespace's message
 * brought them (pure decisions here, the SQL in `createDigestFindings`).
 *
 * The fleet stream carries an image's findings once per namespace; within a cluster, every
 * namespace's scan of one digest says the same thing (same image, the cluster's settings), up to
 * the DB it was matched with. So the key's findings are those of its most recent answer: an
 * answer scanned earlier than the stored one changes nothing; an equal one (the same content)
 * only brings first-seen times earlier; a different, newer one (a new DB) replaces them. A
 * finding's first seen (and the DB version it was first found with) is the earliest any
 * namespace's message gave it for that content, so a
 * namespace that started running an old image later does not make its findings new. A failed
 * scan's message carries the previous findings: it fills a key nothing has answered yet and
 * otherwise leaves the stored findings alone.
 */

/** The findings key of a scan: its digest, or (no digest named) its own reference. */
export function findingsKeyOf(m: Pick<ImageFindings, 'digest' | 'namespace' | 'image'>): string {
  return m.digest ?? `ref:${findingsKey(m.namespace, m.image)}`;
}

/** What identifies a set of findings' content, first-seen times aside. */
export function contentHash(m: Pick<ImageFindings, 'findings' | 'omitted'>): string {
  const h = createHash('sha256');
  for (const f of m.findings)
    h.update(`${f.id}\0${f.severity}\0${f.pkg}\0${f.installed}\0${f.fixed}\0${f.title}\n`);
  h.update(String(m.omitted));
  return h.digest('base64url').slice(0, 22);
}

/** A DB version (trivy-db's UpdatedAt) as milliseconds; null when absent or not a time. */
export function dbMs(version: string | undefined): number | null {
  const ms = version ? Date.parse(version) : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}

export type StoreDecision = 'keep' | 'earlier-first-seen' | 'replace';

/** What a message does to the key's stored findings (see above). */
export function decideStore(
  stored: { scannedMs: number | null; hash: string } | undefined,
  incoming: { status: 'ok' | 'error'; scannedMs: number | null; hash: string },
): StoreDecision {
  if (!stored) return 'replace';
  if (incoming.status === 'error') return 'keep';
  if ((incoming.scannedMs ?? -1) < (stored.scannedMs ?? -1)) return 'keep';
  return incoming.hash === stored.hash ? 'earlier-first-seen' : 'replace';
}

export interface DigestFindings {
  /** Applies a message's findings to its key; true when the key's counts may have changed. */
  store(m: ImageFindings, fkey: string): boolean;
  /** Drops the key's findings when no scan refers to it any more. */
  dropIfUnused(cluster: string, fkey: string): void;
}

export function createDigestFindings(db: DatabaseSync): DigestFindings {
  const st = (sql: string): StatementSync => db.prepare(sql);
  const q = {
    stored: st('SELECT scanned_ms AS scannedMs, hash FROM digests WHERE cluster = ? AND fkey = ?'),
    firstSeen: st(
      'SELECT id, pkg, installed, first_seen AS t, first_db AS db FROM findings WHERE cluster = ? AND fkey = ?',
    ),
    earlier: st(
      `UPDATE findings SET first_seen = ?3, first_db = ?7 WHERE cluster = ?1 AND fkey = ?2 AND id = ?4 AND pkg = ?5
         AND installed = ?6 AND first_seen > ?3`,
    ),
    touch: st(
      'UPDATE digests SET scanned_ms = max(coalesce(scanned_ms, -1), ?) WHERE cluster = ? AND fkey = ?',
    ),
    deleteFindings: st('DELETE FROM findings WHERE cluster = ? AND fkey = ?'),
    insertFinding: st(
      `INSERT OR IGNORE INTO findings (cluster, fkey, id, severity, pkg, installed, fixed, title, first_seen, first_db)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertDigest: st(
      'INSERT OR REPLACE INTO digests (cluster, fkey, scanned_ms, hash, critical, high) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    used: st('SELECT 1 AS x FROM scans WHERE cluster = ? AND fkey = ? LIMIT 1'),
    deleteDigest: st('DELETE FROM digests WHERE cluster = ? AND fkey = ?'),
  };
  const identity = (id: string, pkg: string, installed: string) => `${id}\0${pkg}\0${installed}`;

  return {
    store(m, fkey) {
      const scannedMs = m.scannedAt ? Date.parse(m.scannedAt) : null;
      const hash = contentHash(m);
      const stored = q.stored.get(m.cluster, fkey) as { scannedMs: number | null; hash: string } | undefined;
      const decision = decideStore(stored, { status: m.status, scannedMs, hash });
      if (decision === 'keep') return false;
      if (decision === 'earlier-first-seen') {
        for (const f of m.findings) {
          q.earlier.run(m.cluster, fkey, Date.parse(f.firstSeen), f.id, f.pkg, f.installed, dbMs(f.firstDb));
        }
        if (scannedMs !== null) q.touch.run(scannedMs, m.cluster, fkey);
        return false;
      }
      const seen = new Map<string, { t: number; db: number | null }>();
      for (const r of q.firstSeen.all(m.cluster, fkey) as {
        id: string;
        pkg: string;
        installed: string;
        t: number;
        db: number | null;
      }[]) {
        seen.set(identity(r.id, r.pkg, r.installed), r);
      }
      q.deleteFindings.run(m.cluster, fkey);
      let critical = 0;
      let high = 0;
      for (const f of m.findings) {
        if (f.severity === 'CRITICAL') critical++;
        else if (f.severity === 'HIGH') high++;
        const given = { t: Date.parse(f.firstSeen), db: dbMs(f.firstDb) };
        const before = seen.get(identity(f.id, f.pkg, f.installed));
        const first = before !== undefined && before.t < given.t ? before : given;
        q.insertFinding.run(
          m.cluster,
          fkey,
          f.id,
          f.severity,
          f.pkg,
          f.installed,
          f.fixed,
          f.title,
          first.t,
          first.db,
        );
      }
      q.upsertDigest.run(m.cluster, fkey, scannedMs, hash, critical, high);
      return true;
    },
    dropIfUnused(cluster, fkey) {
      if (q.used.get(cluster, fkey)) return;
      q.deleteFindings.run(cluster, fkey);
      q.deleteDigest.run(cluster, fkey);
    },
  };
}
