import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createModel } from './model.ts';
import { fixFirst, newSince, whereDigest, whereVulnerability } from './queries.ts';
import { createRanking } from './ranking.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

/**
 * The questions' query plans. Without statistics SQLite picks join orders by guesswork: left free,
 * it joined "where does X run" from every container of a cluster (p50 0.9 s at 10 000 owners × 3
 * clusters, docs/BENCHMARKS.md). Each plan must start from the question's own index and reach every
 * other table by a key, never by a cluster alone or a scan of a table.
 */
function recorded() {
  const m = createModel(new DatabaseSync(':memory:'));
  m.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
  m.applyFindings(findingsMsg('east', 'reg/app:1', [['CVE-1', 'CRITICAL', '3.0.2']]));
  const seen: { sql: string; args: SQLInputValue[] }[] = [];
  const db = new Proxy(m.db, {
    get(target, prop) {
      if (prop !== 'prepare') return Reflect.get(target, prop, target);
      return (sql: string) => {
        const st = target.prepare(sql);
        const record = (args: SQLInputValue[]) => seen.push({ sql, args });
        return {
          all: (...args: SQLInputValue[]) => {
            record(args);
            return st.all(...args);
          },
          get: (...args: SQLInputValue[]) => {
            record(args);
            return st.get(...args);
          },
          run: (...args: SQLInputValue[]) => st.run(...args),
        };
      };
    },
  });
  const plan = (q: { sql: string; args: SQLInputValue[] }) =>
    (m.db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.args) as { detail: string }[]).map((r) => r.detail);
  return { db, seen, plan };
}

describe('the questions’ query plans', () => {
  it.each([
    ['where does X run', (db: DatabaseSync) => whereVulnerability(db, { id: 'CVE-1', limit: 50, offset: 0 })],
    [
      'where does X run, filtered',
      (db: DatabaseSync) =>
        whereVulnerability(db, {
          id: 'CVE-1',
          cluster: 'east',
          namespace: 'shop',
          fixable: true,
          limit: 5,
          offset: 0,
        }),
    ],
    [
      'where does digest D run',
      (db: DatabaseSync) => whereDigest(db, `sha256:${'a'.repeat(64)}`, { limit: 50, offset: 0 }),
    ],
    ['what to fix first', (db: DatabaseSync) => fixFirst(db, { limit: 50, offset: 0 })],
    ['what is new', (db: DatabaseSync) => newSince(db, { since: 0, limit: 50, offset: 0 })],
    ['what is new since a DB', (db: DatabaseSync) => newSince(db, { sinceDb: 0, limit: 50, offset: 0 })],
    [
      'the ranking’s recount of a digest in a cluster',
      (db: DatabaseSync) => {
        const r = createRanking(db);
        r.mark('east', `sha256:${'a'.repeat(64)}`);
        r.flush();
      },
    ],
  ])('%s: starts from its index, joins by keys', (_, ask) => {
    const { db, seen, plan } = recorded();
    ask(db);
    expect(seen.length).toBeGreaterThan(0);
    for (const q of seen) {
      const steps = plan(q);
      const where = `${q.sql.replace(/\s+/g, ' ').slice(0, 80)}…\n${steps.join('\n')}`;
      expect(
        steps.filter((s) => /^SCAN (f|s|c|o|findings|scans|containers|owners|fix_first)\b/.test(s)),
        where,
      ).toEqual([]);
      expect(
        steps.filter((s) => /containers_ref \(cluster=\?\)|PRIMARY KEY \(cluster=\?\)$/.test(s)),
        where,
      ).toEqual([]);
    }
  });
});
