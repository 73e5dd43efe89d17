import { DatabaseSync } from 'node:sqlite';
import type { OwnerChecks } from '@fleetscan/bus';
import type { Severity } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { createModel } from './model.ts';
import { clusterPosture } from './queries.ts';
import { ownerMsg } from './testing.ts';

function checksMsg(cluster: string, uid: string, failed: [id: string, severity: Severity][]): OwnerChecks {
  return {
    v: 1,
    cluster,
    uid,
    kind: 'ReplicaSet',
    namespace: 'shop',
    name: `${uid}-rs`,
    failed: failed.map(([id, severity]) => ({ id, severity, title: `${id} title` })),
    omitted: 0,
    scannedAt: '2026-01-02T00:00:00Z',
    publishedAt: '2026-01-02T00:00:00Z',
  };
}
const top = (m: ReturnType<typeof createModel>, cluster = 'east') =>
  clusterPosture(m.db)
    .find((r) => r.cluster === cluster)
    ?.topFailingChecks.map((c) => [c.id, c.owners]);

describe('the top failing config checks of each cluster', () => {
  it('counts the owners failing each check, most first, per cluster', () => {
    const m = createModel(new DatabaseSync(':memory:'));
    for (const uid of ['u1', 'u2', 'u3']) m.applyInventory(ownerMsg('east', uid));
    m.applyInventory(ownerMsg('west', 'u9'));
    m.applyChecks(
      checksMsg('east', 'u1', [
        ['KSV014', 'LOW'],
        ['KSV017', 'HIGH'],
      ]),
    );
    m.applyChecks(checksMsg('east', 'u2', [['KSV014', 'LOW']]));
    m.applyChecks(
      checksMsg('east', 'u3', [
        ['KSV017', 'HIGH'],
        ['KSV001', 'MEDIUM'],
      ]),
    );
    m.applyChecks(checksMsg('west', 'u9', [['KSV001', 'MEDIUM']]));
    // Two owners each: the more severe first.
    expect(top(m)).toEqual([
      ['KSV017', 2],
      ['KSV014', 2],
      ['KSV001', 1],
    ]);
    expect(top(m, 'west')).toEqual([['KSV001', 1]]);
    expect(clusterPosture(m.db)[0]?.topFailingChecks[0]).toEqual({
      id: 'KSV017',
      severity: 'HIGH',
      title: 'KSV017 title',
      owners: 2,
    });
  });

  it('follows re-audits, deletions and a new watcher’s complete inventory', () => {
    const m = createModel(new DatabaseSync(':memory:'));
    for (const uid of ['u1', 'u2']) m.applyInventory(ownerMsg('east', uid));
    m.applyChecks(checksMsg('east', 'u1', [['KSV014', 'LOW']]));
    m.applyChecks(checksMsg('east', 'u2', [['KSV014', 'LOW']]));
    // A fixed check is no longer counted; the same message twice counts once.
    m.applyChecks(checksMsg('east', 'u1', [['KSV017', 'HIGH']]));
    m.applyChecks(checksMsg('east', 'u1', [['KSV017', 'HIGH']]));
    expect(top(m)).toEqual([
      ['KSV017', 1],
      ['KSV014', 1],
    ]);
    m.applyInventory({
      v: 1,
      type: 'deleted',
      cluster: 'east',
      uid: 'u2',
      epoch: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(top(m)).toEqual([['KSV017', 1]]);
    m.applyInventory(ownerMsg('east', 'u3', { epoch: 2 }));
    m.applyChecks(checksMsg('east', 'u3', [['KSV001', 'MEDIUM']]));
    m.applyInventory({
      v: 1,
      type: 'synced',
      cluster: 'east',
      epoch: 2,
      owners: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(top(m)).toEqual([['KSV001', 1]]);
    expect(Number((m.db.prepare('SELECT count(*) AS n FROM checks').get() as { n: number }).n)).toBe(1);
  });

  it('counts an owner’s checks once the inventory knows it, and never those of objects it does not list', () => {
    const m = createModel(new DatabaseSync(':memory:'));
    m.applyChecks(checksMsg('east', 'u1', [['KSV014', 'LOW']]));
    m.applyChecks(checksMsg('east', 'svc-1', [['KSV110', 'LOW']]));
    m.applyInventory(ownerMsg('east', 'u1'));
    expect(top(m)).toEqual([['KSV014', 1]]);
    // The owner's next inventory message (its containers changed) counts nothing twice.
    m.applyInventory(ownerMsg('east', 'u1', { images: ['reg/app:2'] }));
    expect(top(m)).toEqual([['KSV014', 1]]);
  });
});
