import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createModel } from './model.ts';
import { clusterPosture, fixFirst, newSince, whereDigest, whereVulnerability } from './queries.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const page = { limit: 50, offset: 0 };

function fleet() {
  const model = createModel(new DatabaseSync(':memory:'));
  model.transaction(() => {
    model.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
    model.applyInventory(ownerMsg('east', 'u2', { name: 'api', images: ['reg/app:1', 'reg/db:2'] }));
    model.applyInventory(ownerMsg('west', 'u3', { name: 'web' }));
    model.applyFindings(
      findingsMsg('east', 'reg/app:1', [
        ['CVE-1', 'CRITICAL', '3.0.2'],
        ['CVE-2', 'HIGH'],
      ]),
    );
    model.applyFindings(
      findingsMsg('west', 'reg/app:1', [
        ['CVE-1', 'CRITICAL', '3.0.2'],
        ['CVE-2', 'HIGH'],
      ]),
    );
    model.applyFindings(
      findingsMsg('east', 'reg/db:2', [['CVE-3', 'LOW', '', '2026-03-01T00:00:00Z']], { digest: B }),
    );
  });
  return model;
}

describe('the fleet model and its questions', () => {
  it('lists every workload container running a vulnerability, in every cluster, with filters', () => {
    const m = fleet();
    const all = whereVulnerability(m.db, { id: 'CVE-1', ...page });
    expect(all.total).toBe(3);
    expect(all.items.map((r) => [r.cluster, r.name, r.container, r.digest])).toEqual([
      ['east', 'api', 'c0', A],
      ['east', 'web', 'c0', A],
      ['west', 'web', 'c0', A],
    ]);
    expect(whereVulnerability(m.db, { id: 'CVE-1', cluster: 'west', ...page }).total).toBe(1);
    expect(whereVulnerability(m.db, { id: 'CVE-2', fixable: true, ...page }).total).toBe(0);
    expect(whereVulnerability(m.db, { id: 'CVE-2', severities: ['CRITICAL'], ...page }).total).toBe(0);
    expect(whereVulnerability(m.db, { id: 'CVE-1', namespace: 'other', ...page }).total).toBe(0);
    const second = whereVulnerability(m.db, { id: 'CVE-1', limit: 2, offset: 2 });
    expect([second.items.length, second.next]).toEqual([1, null]);
    expect(whereVulnerability(m.db, { id: 'CVE-1', limit: 2, offset: 0 }).next).toBe(2);
  });

  it('drops a deleted owner, and a recreated one’s old containers', () => {
    const m = fleet();
    m.applyInventory({
      v: 1,
      type: 'deleted',
      cluster: 'west',
      uid: 'u3',
      epoch: 1,
      at: '2026-01-03T00:00:00Z',
    });
    m.applyInventory(ownerMsg('east', 'u2', { name: 'api', images: ['reg/db:2'] }));
    expect(whereVulnerability(m.db, { id: 'CVE-1', ...page }).items.map((r) => r.name)).toEqual(['web']);
  });

  it('drops owners of an older watcher once the new one has published its whole inventory', () => {
    const m = fleet();
    m.applyInventory(ownerMsg('east', 'u1', { name: 'web', epoch: 2 }));
    m.applyInventory({
      v: 1,
      type: 'synced',
      cluster: 'east',
      epoch: 2,
      owners: 1,
      at: '2026-01-03T00:00:00Z',
    });
    // A late message of the old watcher changes nothing.
    m.applyInventory(ownerMsg('east', 'u2', { name: 'api', epoch: 1 }));
    expect(
      whereVulnerability(m.db, { id: 'CVE-1', cluster: 'east', ...page }).items.map((r) => r.name),
    ).toEqual(['web']);
  });

  it('answers where a digest runs, with its findings', () => {
    const m = fleet();
    const d = whereDigest(m.db, A, page);
    expect(d.items.map((r) => [r.cluster, r.name])).toEqual([
      ['east', 'api'],
      ['east', 'web'],
      ['west', 'web'],
    ]);
    expect(d.findings.map((f) => f.id)).toEqual(['CVE-1', 'CVE-2']);
    expect(whereDigest(m.db, `sha256:${'c'.repeat(64)}`, page).total).toBe(0);
  });

  it('ranks images by critical and high findings × workloads, fleet-wide or per cluster', () => {
    const m = fleet();
    const r = fixFirst(m.db, page);
    expect(r.items).toEqual([
      { digest: A, images: 'reg/app:1', critical: 1, high: 1, workloads: 3, clusters: 2, score: 6 },
    ]);
    expect(fixFirst(m.db, { cluster: 'west', ...page }).items[0]?.workloads).toBe(1);
  });

  it('lists what is new since a time, in running images only', () => {
    const m = fleet();
    const r = newSince(m.db, { since: Date.parse('2026-02-01T00:00:00Z'), ...page });
    expect(r.items.map((x) => [x.id, x.cluster, x.workloads])).toEqual([['CVE-3', 'east', 1]]);
    m.applyInventory({
      v: 1,
      type: 'deleted',
      cluster: 'east',
      uid: 'u2',
      epoch: 1,
      at: '2026-01-03T00:00:00Z',
    });
    expect(newSince(m.db, { since: Date.parse('2026-02-01T00:00:00Z'), ...page }).total).toBe(0);
  });

  it('sums each cluster’s posture: owners, backlog, failures, findings in running containers', () => {
    const m = fleet();
    m.applyInventory(ownerMsg('west', 'u4', { name: 'new', images: ['reg/unscanned:1'] }));
    const rows = clusterPosture(m.db);
    expect(
      rows.map((r) => [r.cluster, r.owners, r.containers, r.backlog, r.critical, r.high, r.low]),
    ).toEqual([
      ['east', 2, 3, 0, 2, 2, 1],
      ['west', 2, 2, 1, 1, 1, 0],
    ]);
  });

  it('replaces an image’s findings with its latest message', () => {
    const m = fleet();
    m.applyFindings(findingsMsg('west', 'reg/app:1', [['CVE-2', 'HIGH']]));
    expect(whereVulnerability(m.db, { id: 'CVE-1', ...page }).items.map((r) => r.cluster)).toEqual([
      'east',
      'east',
    ]);
  });
});
