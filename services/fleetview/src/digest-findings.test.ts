import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createModel } from './model.ts';
import { fixFirst, newSince, whereDigest, whereVulnerability } from './queries.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const page = { limit: 50, offset: 0 };
const DAY1 = '2026-01-02T00:00:00Z';
const DAY5 = '2026-01-06T00:00:00Z';
const DAY9 = '2026-01-10T00:00:00Z';

/** Two namespaces of one cluster running the same image (digest A). */
function twoNamespaces() {
  const m = createModel(new DatabaseSync(':memory:'));
  m.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
  m.applyInventory(ownerMsg('east', 'u2', { name: 'web', namespace: 'other' }));
  const findings = [
    ['CVE-1', 'CRITICAL', '3.0.2', DAY1],
    ['CVE-2', 'HIGH', '', DAY1],
  ] as const;
  m.applyFindings({ ...findingsMsg('east', 'reg/app:1', [...findings]), scannedAt: DAY1 });
  m.applyFindings({
    ...findingsMsg(
      'east',
      'reg/app:1',
      findings.map(([id, s, f]) => [id, s, f, DAY5]),
      { namespace: 'other' },
    ),
    scannedAt: DAY5,
  });
  return m;
}
const where = (m: ReturnType<typeof twoNamespaces>, id: string) =>
  whereVulnerability(m.db, { id, ...page }).items.map((r) => [
    r.namespace,
    new Date(r.firstSeen).toISOString(),
  ]);

describe('findings kept once per digest', () => {
  it('stores an image running in two namespaces once, and lists both', () => {
    const m = twoNamespaces();
    expect(m.counts()).toMatchObject({ scans: 2, digests: 1, findings: 2 });
    // The namespace that started later does not make the findings new: first seen is the earliest.
    expect(where(m, 'CVE-1')).toEqual([
      ['other', '2026-01-02T00:00:00.000Z'],
      ['shop', '2026-01-02T00:00:00.000Z'],
    ]);
    expect(newSince(m.db, { since: Date.parse(DAY5), ...page }).total).toBe(0);
  });

  it('keeps each namespace’s own answer: one re-matched with a new DB first, then both sharing it again', () => {
    const m = twoNamespaces();
    const rematched = (namespace: string, firstSeen1: string) => ({
      ...findingsMsg(
        'east',
        'reg/app:1',
        [
          ['CVE-1', 'CRITICAL', '3.0.2', firstSeen1],
          ['CVE-4', 'CRITICAL', '', DAY9],
        ],
        { namespace },
      ),
      scannedAt: DAY9,
      dbUpdatedAt: DAY9,
    });
    m.applyFindings(rematched('shop', DAY1));
    expect(where(m, 'CVE-2')).toEqual([['other', '2026-01-02T00:00:00.000Z']]);
    expect(where(m, 'CVE-4')).toEqual([['shop', '2026-01-10T00:00:00.000Z']]);
    expect(m.counts()).toMatchObject({ digests: 2, findings: 4 });
    // The most severe of the answers running: critical from either, high from the older one.
    expect(fixFirst(m.db, page).items.map((r) => [r.critical, r.high, r.workloads])).toEqual([[2, 1, 2]]);
    // The other namespace re-matched too (its own first-seen times are later): one copy, the earliest dates.
    m.applyFindings(rematched('other', DAY5));
    expect(m.counts()).toMatchObject({ digests: 1, findings: 2 });
    expect(where(m, 'CVE-2')).toEqual([]);
    expect(where(m, 'CVE-1').map((r) => r[1])).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-02T00:00:00.000Z',
    ]);
    expect(where(m, 'CVE-4').map((r) => r[0])).toEqual(['other', 'shop']);
    expect(fixFirst(m.db, page).items.map((r) => [r.critical, r.high, r.workloads])).toEqual([[2, 0, 2]]);
    expect(whereDigest(m.db, A, page).findings.map((f) => f.id)).toEqual(['CVE-1', 'CVE-4']);
  });

  it('keeps a namespace’s answer under its own ignore policy apart from the others’', () => {
    const m = twoNamespaces();
    // trivy.ignorePolicy.other ignores CVE-2 there.
    m.applyFindings({
      ...findingsMsg('east', 'reg/app:1', [['CVE-1', 'CRITICAL', '3.0.2']], { namespace: 'other' }),
      scannedAt: DAY9,
    });
    expect(where(m, 'CVE-2')).toEqual([['shop', '2026-01-02T00:00:00.000Z']]);
    expect(where(m, 'CVE-1').map((r) => r[0])).toEqual(['other', 'shop']);
    expect(m.counts()).toMatchObject({ digests: 2, findings: 3 });
  });

  it('answers what is new since a DB version: findings first found with a newer one', () => {
    const m = twoNamespaces();
    const withDb = (db: string, ids: [string, string][]) => ({
      ...findingsMsg('east', 'reg/app:1', []),
      scannedAt: DAY9,
      dbUpdatedAt: db,
      findings: ids.map(([id, firstDb]) => ({
        id,
        severity: 'HIGH' as const,
        pkg: 'openssl',
        installed: '3.0.1',
        fixed: '',
        title: id,
        firstSeen: firstDb === DAY9 ? DAY9 : DAY1,
        firstDb,
      })),
    });
    // The shop namespace's image re-matched with the DB of day 9: CVE-4 is new with it.
    m.applyFindings(
      withDb(DAY9, [
        ['CVE-1', '2026-01-01T00:00:00Z'],
        ['CVE-4', DAY9],
      ]),
    );
    const since = (db: string) =>
      newSince(m.db, { sinceDb: Date.parse(db), ...page }).items.map((r) => [r.id, r.namespace, r.firstDb]);
    expect(since(DAY5)).toEqual([['CVE-4', 'shop', Date.parse(DAY9)]]);
    expect(since(DAY9)).toEqual([]);
    // The other namespace, not re-matched yet, still has its CVE-2.
    expect(since('2025-12-01T00:00:00Z').map((r) => [r[0], r[1]])).toEqual([
      ['CVE-4', 'shop'],
      ['CVE-1', 'other'],
      ['CVE-1', 'shop'],
      ['CVE-2', 'other'],
    ]);
  });

  it('keeps showing the previous findings through a failed scan, which carries them', () => {
    const m = twoNamespaces();
    const { findings } = findingsMsg('east', 'reg/app:1', [
      ['CVE-1', 'CRITICAL', '3.0.2', DAY1],
      ['CVE-2', 'HIGH', '', DAY1],
    ]);
    m.applyFindings({ ...findingsMsg('east', 'reg/app:1', []), status: 'error', findings, scannedAt: DAY1 });
    expect(where(m, 'CVE-1')).toHaveLength(2);
    expect(m.counts()).toMatchObject({ digests: 1, findings: 2 });
    // Its workloads leave "what to fix first" (no answer of their own), and stay in "where does X run".
    expect(fixFirst(m.db, page).items.map((r) => r.workloads)).toEqual([1]);
    m.applyInventory(ownerMsg('east', 'u3', { name: 'db', images: ['reg/db:2'] }));
    m.applyFindings({
      ...findingsMsg('east', 'reg/db:2', [['CVE-7', 'LOW']], { digest: B }),
      status: 'error',
    });
    expect(where(m, 'CVE-7')).toEqual([['shop', '2026-01-02T00:00:00.000Z']]);
  });

  it('drops an old digest’s findings once no namespace’s image resolves to it', () => {
    const m = twoNamespaces();
    m.applyFindings({
      ...findingsMsg('east', 'reg/app:1', [['CVE-5', 'HIGH']], { digest: B }),
      scannedAt: DAY9,
    });
    expect(where(m, 'CVE-1')).toEqual([['other', '2026-01-02T00:00:00.000Z']]);
    expect(where(m, 'CVE-5')).toEqual([['shop', '2026-01-02T00:00:00.000Z']]);
    expect(m.counts()).toMatchObject({ digests: 2, findings: 3 });
    m.applyFindings({
      ...findingsMsg('east', 'reg/app:1', [['CVE-5', 'HIGH']], { digest: B, namespace: 'other' }),
      scannedAt: DAY9,
    });
    expect(m.counts()).toMatchObject({ digests: 1, findings: 1 });
    expect(where(m, 'CVE-1')).toEqual([]);
    expect(whereDigest(m.db, A, page)).toMatchObject({ total: 0, findings: [] });
    expect(whereDigest(m.db, B, page).total).toBe(2);
  });

  it('keeps findings of a scan that named no digest under its own reference', () => {
    const m = createModel(new DatabaseSync(':memory:'));
    m.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
    m.applyInventory(ownerMsg('east', 'u2', { name: 'web', namespace: 'other' }));
    const noDigest = (namespace: string, id: string) => {
      const { digest: _, ...msg } = findingsMsg('east', 'reg/app:1', [[id, 'HIGH']], { namespace });
      return msg;
    };
    m.applyFindings(noDigest('shop', 'CVE-1'));
    m.applyFindings(noDigest('other', 'CVE-2'));
    expect(
      whereVulnerability(m.db, { id: 'CVE-1', ...page }).items.map((r) => [r.namespace, r.digest]),
    ).toEqual([['shop', null]]);
    expect(where(m, 'CVE-2')).toEqual([['other', '2026-01-02T00:00:00.000Z']]);
    expect(fixFirst(m.db, page).total).toBe(0);
  });

  it('rebuilds a model file of an older schema from scratch', () => {
    const path = join(mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'fleetview-')), 'model.db');
    const old = new DatabaseSync(path);
    old.exec(
      "CREATE TABLE findings (cluster TEXT, namespace TEXT, image TEXT); CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('last_seq', '42');",
    );
    old.close();
    const m = createModel(new DatabaseSync(path));
    expect(m.lastSeq()).toBe(0);
    m.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
    m.applyFindings(findingsMsg('east', 'reg/app:1', [['CVE-1', 'HIGH']]));
    m.setLastSeq(7, 1);
    m.db.close();
    const again = createModel(new DatabaseSync(path));
    expect([again.lastSeq(), again.counts().findings]).toEqual([7, 1]);
  });
});
