import { createHash, type Hash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { findingsKey, type ImageFindings } from '@fleetscan/bus';

/**
 * Findings kept once per distinct answer about an image: the fleet stream carries an image's
 * findings once per namespace, and within a cluster the namespaces' answers about one digest are
 * the same but for the DB each was matched with and a namespace's own ignore policy
 * (trivy.ignorePolicy.<namespace>). So findings are keyed by (cluster, digest, content): scans
 * whose answers agree share one copy, and an answer that differs — a namespace re-matched with a
 * newer DB before the others, or one with its own policy — has its own, exactly as each
 * namespace's message says. A key's content never changes; another namespace's identical answer
 * only brings its findings' first-seen times (and first DB versions) earlier, so a namespace that
 * starts running an old image does not make its findings new. A key goes when no scan refers to it.
 */

/**
 * The findings key of an answer: a hash of its digest (or, none named, its own reference) and its
 * content — short, as every finding row and scan index entry holds it.
 */
export function findingsKeyOf(
  m: Pick<ImageFindings, 'digest' | 'namespace' | 'image' | 'findings' | 'omitted'>,
): string {
  const h = createHash('sha256');
  h.update(m.digest ?? `ref:${findingsKey(m.namespace, m.image)}`);
  h.update('\n');
  contentOf(m, h);
  return h.digest('base64url').slice(0, 22);
}

/** What identifies a set of findings' content, first-seen times aside. */
function contentOf(m: Pick<ImageFindings, 'findings' | 'omitted'>, h: Hash): void {
  for (const f of m.findings)
    h.update(`${f.id}\0${f.severity}\0${f.pkg}\0${f.installed}\0${f.fixed}\0${f.title}\n`);
  h.update(String(m.omitted));
}

/** A DB version (trivy-db's UpdatedAt) as milliseconds; null when absent or not a time. */
export function dbMs(version: string | undefined): number | null {
  const ms = version ? Date.parse(version) : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}

export interface DigestFindings {
  /** Keeps a message's findings under its key: stored once, first-seen times the earliest given. */
  store(m: ImageFindings, fkey: string): void;
  /** Drops the key's findings when no scan refers to it any more. */
  dropIfUnused(cluster: string, fkey: string): void;
}

export function createDigestFindings(db: DatabaseSync): DigestFindings {
  const st = (sql: string): StatementSync => db.prepare(sql);
  const q = {
    known: st('SELECT 1 AS x FROM digests WHERE cluster = ? AND fkey = ?'),
    earlier: st(
      `UPDATE findings SET first_seen = ?3, first_db = ?7 WHERE cluster = ?1 AND fkey = ?2 AND id = ?4 AND pkg = ?5
         AND installed = ?6 AND first_seen > ?3`,
    ),
    insertFinding: st(
      `INSERT OR IGNORE INTO findings (cluster, fkey, id, severity, pkg, installed, fixed, title, first_seen, first_db)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertDigest: st('INSERT INTO digests (cluster, fkey, critical, high) VALUES (?, ?, ?, ?)'),
    used: st('SELECT 1 AS x FROM scans WHERE cluster = ? AND fkey = ? LIMIT 1'),
    deleteFindings: st('DELETE FROM findings WHERE cluster = ? AND fkey = ?'),
    deleteDigest: st('DELETE FROM digests WHERE cluster = ? AND fkey = ?'),
  };

  return {
    store(m, fkey) {
      if (q.known.get(m.cluster, fkey)) {
        for (const f of m.findings) {
          q.earlier.run(m.cluster, fkey, Date.parse(f.firstSeen), f.id, f.pkg, f.installed, dbMs(f.firstDb));
        }
        return;
      }
      let critical = 0;
      let high = 0;
      for (const f of m.findings) {
        if (f.severity === 'CRITICAL') critical++;
        else if (f.severity === 'HIGH') high++;
        q.insertFinding.run(
          m.cluster,
          fkey,
          f.id,
          f.severity,
          f.pkg,
          f.installed,
          f.fixed,
          f.title,
          Date.parse(f.firstSeen),
          dbMs(f.firstDb),
        );
      }
      q.insertDigest.run(m.cluster, fkey, critical, high);
    },
    dropIfUnused(cluster, fkey) {
      if (q.used.get(cluster, fkey)) return;
      q.deleteFindings.run(cluster, fkey);
      q.deleteDigest.run(cluster, fkey);
    },
  };
}
