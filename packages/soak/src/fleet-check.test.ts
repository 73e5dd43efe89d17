import { describe, expect, it } from 'vitest';
import { checkFleet, describeCheck, isConverged, type OwnerView, type ReportView } from './fleet-check.ts';

const owner = (name: string, containers = ['app'], specHash = 'h1'): OwnerView => ({
  kind: 'ReplicaSet',
  namespace: 'ns',
  name,
  uid: `uid-${name}`,
  specHash,
  containers: containers.map((c) => ({ name: c, image: `r/${c}:1` })),
});

const reportsOf = (o: OwnerView, extra: Partial<ReportView> = {}): ReportView[] => [
  {
    kind: 'ConfigAuditReport',
    namespace: o.namespace,
    name: `replicaset-${o.name}`,
    owner: { kind: o.kind, name: o.name, uid: o.uid },
    specHash: o.specHash,
    ...extra,
  },
  ...o.containers.map(
    (c): ReportView => ({
      kind: 'VulnerabilityReport',
      namespace: o.namespace,
      name: `replicaset-${o.name}-${c.name}`,
      owner: { kind: o.kind, name: o.name, uid: o.uid },
      container: c.name,
      specHash: o.specHash,
      ...extra,
    }),
  ),
];

describe('checkFleet', () => {
  it('passes when every owner has one current report per kind and container, and nothing else exists', () => {
    const owners = [owner('a'), owner('b', ['app', 'side1'])];
    const c = checkFleet(
      owners,
      owners.flatMap((o) => reportsOf(o)),
    );
    expect(c).toMatchObject({ owners: 2, expected: 5, current: 5, failing: 0, problems: [] });
    expect(isConverged(c)).toBe(true);
    expect(describeCheck(c)).toBe(
      '2 owners, 5/5 reports current, 0 missing, 0 stale, 0 duplicates, 0 orphans',
    );
  });

  it('names a missing report by owner, kind and container', () => {
    const o = owner('a', ['app', 'side1']);
    const c = checkFleet(
      [o],
      reportsOf(o).filter((r) => r.container !== 'side1'),
    );
    expect(c.counts).toEqual({ missing: 1, stale: 0, duplicate: 0, orphan: 0 });
    expect(c.problems[0]).toMatchObject({
      problem: 'missing',
      subject: 'ReplicaSet/ns/a',
      what: 'VulnerabilityReport of container side1',
    });
    expect(isConverged(c)).toBe(false);
  });

  it('finds a report of an older pod spec stale', () => {
    const o = owner('a');
    const c = checkFleet([o], reportsOf({ ...o, specHash: 'old' }));
    expect(c.counts.stale).toBe(2);
    expect(c.current).toBe(0);
    expect(c.problems[0]?.detail).toContain('spec hash old, the owner h1');
  });

  it('finds two reports for the same owner, kind and container a duplicate', () => {
    const o = owner('a');
    const twice = [...reportsOf(o), { ...(reportsOf(o)[1] as ReportView), name: 'replicaset-1234abcd' }];
    const c = checkFleet([o], twice);
    expect(c.counts).toEqual({ missing: 0, stale: 0, duplicate: 1, orphan: 0 });
    expect(c.problems[0]?.detail).toBe('2 reports: replicaset-a-app, replicaset-1234abcd');
  });

  it('finds reports of something that is not a current owner, of a container it no longer has, or of nobody, orphans', () => {
    const o = owner('a');
    const gone = owner('old-revision');
    const stray: ReportView = {
      kind: 'VulnerabilityReport',
      namespace: 'ns',
      name: 'replicaset-a-removed',
      owner: { kind: 'ReplicaSet', name: 'a', uid: o.uid },
      container: 'removed',
      specHash: 'h1',
    };
    const ownerless: ReportView = { kind: 'ConfigAuditReport', namespace: 'ns', name: 'x' };
    const c = checkFleet([o], [...reportsOf(o), ...reportsOf(gone), stray, ownerless]);
    expect(c.counts).toEqual({ missing: 0, stale: 0, duplicate: 0, orphan: 4 });
    expect(c.problems.map((p) => p.subject)).toContain('VulnerabilityReport/ns/replicaset-a-removed');
    expect(c.problems.find((p) => p.subject === 'ConfigAuditReport/ns/x')?.detail).toBe(
      'no controller owner reference',
    );
  });

  it('counts reports absent because the scan failed (a ScanFailed Event), flags an old error report, and expects ExposedSecretReports only with secret scanning', () => {
    const o = owner('a');
    const audit = reportsOf(o).filter((r) => r.kind === 'ConfigAuditReport');
    const failing = { ...o, failingImages: new Set(['r/app:1']) };
    expect(checkFleet([failing], audit, { secrets: true })).toMatchObject({
      expected: 3,
      current: 1,
      failing: 2,
      problems: [],
    });
    // Without the Event it is missing: a failure nobody was told of.
    expect(checkFleet([o], audit).counts.missing).toBe(1);
    // An error report (zero findings) looks clean: a problem, whatever else.
    const withError = reportsOf(o).map((r) =>
      r.kind === 'VulnerabilityReport' ? { ...r, scanError: 'UNAUTHORIZED: no' } : r,
    );
    expect(checkFleet([failing], withError)).toMatchObject({ current: 1, failing: 0 });
    expect(checkFleet([failing], withError).problems).toMatchObject([{ problem: 'stale' }]);
    const secrets = checkFleet([o], reportsOf(o), { secrets: true });
    expect(secrets.expected).toBe(3);
    expect(secrets.problems).toMatchObject([
      { problem: 'missing', what: 'ExposedSecretReport of container app' },
    ]);
  });
});
