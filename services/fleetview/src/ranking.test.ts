import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createModel } from './model.ts';
import { fixFirst } from './queries.ts';
import { rankRows } from './ranking.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const page = { limit: 50, offset: 0 };

describe('rankRows', () => {
  it('gives a row per cluster running the digest and one fleet-wide, with the most severe counts', () => {
    const rows = rankRows([
      { cluster: 'east', images: 'reg/b:1,reg/a:1', workloads: 2, critical: 1, high: 0 },
      { cluster: 'west', images: 'reg/a:1', workloads: 3, critical: 0, high: 4 },
      { cluster: 'north', images: 'reg/c:1', workloads: 0, critical: 9, high: 9 },
    ]);
    expect(rows).toEqual([
      { scope: 'east', images: 'reg/a:1,reg/b:1', critical: 1, high: 0, workloads: 2, clusters: 1 },
      { scope: 'west', images: 'reg/a:1', critical: 0, high: 4, workloads: 3, clusters: 1 },
      { scope: '', images: 'reg/a:1,reg/b:1', critical: 1, high: 4, workloads: 5, clusters: 2 },
    ]);
  });

  it('gives no row to a digest without critical or high findings, or running nowhere', () => {
    expect(rankRows([{ cluster: 'east', images: 'x', workloads: 5, critical: 0, high: 0 }])).toEqual([]);
    expect(rankRows([{ cluster: 'east', images: 'x', workloads: 0, critical: 3, high: 0 }])).toEqual([]);
  });
});

/** The ranked table kept at ingest, against the answer computed from scratch by the query the model replaced. */
function fromScratch(db: DatabaseSync, cluster?: string) {
  return db
    .prepare(
      `SELECT digest, images, critical, high, workloads, clusters, (critical + high) * workloads AS score FROM (
        SELECT s.digest, group_concat(DISTINCT s.image) AS images, max(d.critical) AS critical, max(d.high) AS high,
          count(DISTINCT c.cluster || '/' || c.uid) AS workloads, count(DISTINCT c.cluster) AS clusters
        FROM scans s JOIN containers c ON c.cluster = s.cluster AND c.namespace = s.namespace AND c.image = s.image
        JOIN digests d ON d.cluster = s.cluster AND d.fkey = s.fkey
        WHERE s.status = 'ok' AND s.digest IS NOT NULL ${cluster ? 'AND s.cluster = ?' : ''}
        GROUP BY s.digest)
      WHERE critical + high > 0 ORDER BY score DESC, critical DESC, digest`,
    )
    .all(...(cluster ? [cluster] : []))
    .map((r) => ({ ...r, images: String(r.images).split(',').sort().join(',') }));
}

describe('what to fix first, kept up to date at ingest', () => {
  function fleet() {
    const m = createModel(new DatabaseSync(':memory:'));
    m.transaction(() => {
      m.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
      m.applyInventory(ownerMsg('east', 'u2', { name: 'api', images: ['reg/app:1', 'reg/db:2'] }));
      m.applyInventory(ownerMsg('west', 'u3', { name: 'web' }));
      m.applyInventory(ownerMsg('west', 'u4', { name: 'other', namespace: 'other' }));
      for (const [cluster, namespace] of [
        ['east', 'shop'],
        ['west', 'shop'],
        ['west', 'other'],
      ] as const) {
        m.applyFindings(
          findingsMsg(
            cluster,
            'reg/app:1',
            [
              ['CVE-1', 'CRITICAL', '3.0.2'],
              ['CVE-2', 'HIGH'],
            ],
            { namespace },
          ),
        );
      }
      m.applyFindings(findingsMsg('east', 'reg/db:2', [['CVE-3', 'HIGH']], { digest: B }));
    });
    return m;
  }
  const ranked = (m: ReturnType<typeof fleet>, cluster?: string) =>
    fixFirst(m.db, { ...page, cluster }).items.map((r) => [r.digest, r.workloads, r.clusters, r.score]);

  it('ranks by (critical + high) × workloads, as computing it from scratch does', () => {
    const m = fleet();
    expect(ranked(m)).toEqual([
      [A, 4, 2, 8],
      [B, 1, 1, 1],
    ]);
    expect(ranked(m, 'west')).toEqual([[A, 2, 1, 4]]);
    expect(fixFirst(m.db, page).items).toEqual(fromScratch(m.db));
    expect(fixFirst(m.db, { ...page, cluster: 'east' }).items).toEqual(fromScratch(m.db, 'east'));
  });

  it('counts a deleted workload out, and drops a digest nothing runs any more', () => {
    const m = fleet();
    m.applyInventory({
      v: 1,
      type: 'deleted',
      cluster: 'west',
      uid: 'u4',
      epoch: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(ranked(m)).toEqual([
      [A, 3, 2, 6],
      [B, 1, 1, 1],
    ]);
    // u2 stops running reg/db:2 (B): nothing runs it.
    m.applyInventory(ownerMsg('east', 'u2', { name: 'api', images: ['reg/app:1'] }));
    expect(ranked(m)).toEqual([[A, 3, 2, 6]]);
    m.applyInventory({
      v: 1,
      type: 'deleted',
      cluster: 'west',
      uid: 'u3',
      epoch: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(ranked(m, 'west')).toEqual([]);
    expect(ranked(m)).toEqual([[A, 2, 1, 4]]);
    expect(fixFirst(m.db, page).items).toEqual(fromScratch(m.db));
  });

  it('counts out the owners a new watcher’s complete inventory no longer has', () => {
    const m = fleet();
    m.applyInventory(ownerMsg('west', 'u3', { name: 'web', epoch: 2 }));
    m.applyInventory({
      v: 1,
      type: 'synced',
      cluster: 'west',
      epoch: 2,
      owners: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(ranked(m, 'west')).toEqual([[A, 1, 1, 2]]);
    expect(fixFirst(m.db, page).items).toEqual(fromScratch(m.db));
  });

  it('moves an image’s workloads to its new digest, and a failed scan out of the ranking', () => {
    const m = fleet();
    m.applyFindings(findingsMsg('west', 'reg/app:1', [['CVE-9', 'CRITICAL']], { digest: B }));
    expect(ranked(m)).toEqual([
      [A, 3, 2, 6],
      [B, 2, 2, 4],
    ]);
    expect(fixFirst(m.db, page).items.find((r) => r.digest === B)?.images).toBe('reg/app:1,reg/db:2');
    expect(ranked(m, 'west')).toEqual([
      [A, 1, 1, 2],
      [B, 1, 1, 1],
    ]);
    m.applyFindings({ ...findingsMsg('east', 'reg/app:1', []), status: 'error' });
    expect(ranked(m)).toEqual([
      [B, 2, 2, 4],
      [A, 1, 1, 2],
    ]);
    expect(fixFirst(m.db, page).items).toEqual(fromScratch(m.db));
  });

  it('ranks the same whether messages come one by one or in one transaction', () => {
    const one = fleet();
    const each = createModel(new DatabaseSync(':memory:'));
    each.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
    each.applyInventory(ownerMsg('east', 'u2', { name: 'api', images: ['reg/app:1', 'reg/db:2'] }));
    each.applyFindings(findingsMsg('east', 'reg/db:2', [['CVE-3', 'HIGH']], { digest: B }));
    for (const [cluster, namespace] of [
      ['east', 'shop'],
      ['west', 'shop'],
      ['west', 'other'],
    ] as const) {
      each.applyFindings(
        findingsMsg(
          cluster,
          'reg/app:1',
          [
            ['CVE-1', 'CRITICAL', '3.0.2'],
            ['CVE-2', 'HIGH'],
          ],
          { namespace },
        ),
      );
    }
    each.applyInventory(ownerMsg('west', 'u3', { name: 'web' }));
    each.applyInventory(ownerMsg('west', 'u4', { name: 'other', namespace: 'other' }));
    expect(fixFirst(each.db, page)).toEqual(fixFirst(one.db, page));
  });
});
