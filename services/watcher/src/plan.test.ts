import type { Owner, ReportRef } from '@fleetscan/inventory';
import { auditReports, type OwnerReportKind } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { type PlanContext, planOwner } from './plan.ts';

const hashes = { scanConfigHash: 'scan1', pluginConfigHash: 'plug1' };
const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  hashes,
  nowMs: Date.parse('2026-11-26T12:00:00Z'),
  secrets: false,
  ...over,
});
const plan = (o: Owner, reports: ReportRef[], c: PlanContext = ctx()) =>
  planOwner(o, o.containers, auditReports(o, { infra: true }), lookupOf(reports), c);
const owner = (over: Partial<Owner> = {}): Owner =>
  ({
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    namespace: 'ns',
    name: 'web-abc',
    uid: 'u1',
    labels: {},
    specHash: 'spec1',
    containers: [
      { name: 'app', image: 'r/app:1', kind: 'container' },
      { name: 'side', image: 'r/side:1', kind: 'container' },
    ],
    ...over,
  }) as Owner;

function lookupOf(reports: ReportRef[]) {
  return (kind: OwnerReportKind, namespace: string, name: string) =>
    reports.find((r) => r.kind === kind && r.namespace === namespace && r.name === name);
}

const current: ReportRef[] = [
  {
    kind: 'ConfigAuditReport',
    namespace: 'ns',
    name: 'replicaset-web-abc',
    uid: 'c',
    ownerUid: 'u1',
    specHash: 'spec1',
    pluginConfigHash: 'plug1',
    managedBy: 'fleetscan',
  },
  {
    kind: 'VulnerabilityReport',
    namespace: 'ns',
    name: 'replicaset-web-abc-app',
    uid: 'v1',
    ownerUid: 'u1',
    specHash: 'spec1',
    scanConfigHash: 'scan1',
    container: 'app',
    managedBy: 'fleetscan',
  },
  {
    kind: 'VulnerabilityReport',
    namespace: 'ns',
    name: 'replicaset-web-abc-side',
    uid: 'v2',
    ownerUid: 'u1',
    specHash: 'spec1',
    scanConfigHash: 'scan1',
    container: 'side',
    managedBy: 'fleetscan',
  },
];

describe('planOwner', () => {
  it('asks for everything when nothing is reported', () => {
    expect(plan(owner(), [])).toEqual({
      config: 'missing',
      images: [
        { container: 'app', image: 'r/app:1', reason: 'missing' },
        { container: 'side', image: 'r/side:1', reason: 'missing' },
      ],
    });
  });

  it("adopts another tool's reports: they count as present, and are replaced as a refresh, without their digest", () => {
    // As trivy-operator writes them: its managed-by label (or none), no fleetscan annotations.
    const theirs = current.map(({ scanConfigHash: _s, ...r }) => ({
      ...r,
      managedBy: 'trivy-operator',
      pluginConfigHash: 'theirs',
      artifact: { registry: 'r', repository: 'app', tag: '1', digest: 'sha256:config-not-manifest' },
    }));
    expect(plan(owner(), theirs)).toEqual({
      config: 'adopt',
      images: [
        { container: 'app', image: 'r/app:1', reason: 'adopt' },
        { container: 'side', image: 'r/side:1', reason: 'adopt' },
      ],
    });
    const unlabelled = theirs.map(({ managedBy: _m, ...r }) => r);
    expect(plan(owner(), unlabelled).images.map((i) => i.reason)).toEqual(['adopt', 'adopt']);
    // Not for another owner's report under the same name, nor one of an older pod spec: those are urgent.
    expect(plan(owner({ specHash: 'spec2' }), theirs).images.map((i) => i.reason)).toEqual(['spec', 'spec']);
  });

  it('asks for nothing when every report is current', () => {
    expect(plan(owner(), current)).toEqual({ images: [] });
  });

  it('treats a new pod spec hash as stale for every report', () => {
    expect(plan(owner({ specHash: 'spec2' }), current)).toMatchObject({
      config: 'spec',
      images: [{ reason: 'spec' }, { reason: 'spec' }],
    });
  });

  it('treats a report of a previous owner with the same name (other uid) as missing', () => {
    expect(plan(owner({ uid: 'u2' }), current).config).toBe('missing');
  });

  it('refreshes on settings changes, passing the known digest so the scanner can re-match', () => {
    const withDigest = current.map((r) => ({
      ...r,
      artifact: { registry: 'r', repository: 'app', tag: '1', digest: 'sha256:d' },
    }));
    expect(plan(owner(), current, ctx({ hashes: { ...hashes, pluginConfigHash: 'plug2' } }))).toEqual({
      config: 'settings',
      images: [],
    });
    expect(plan(owner(), withDigest, ctx({ hashes: { ...hashes, scanConfigHash: 'scan2' } })).images).toEqual(
      [
        { container: 'app', image: 'r/app:1', reason: 'settings', digest: 'sha256:d' },
        { container: 'side', image: 'r/side:1', reason: 'settings', digest: 'sha256:d' },
      ],
    );
  });

  it('refreshes after the TTL, with notBefore at the expiry', () => {
    const updatedAtMs = Date.parse('2026-11-26T10:00:00Z');
    const aged = current.map((r) => ({ ...r, updatedAtMs, ttlSeconds: 3600 }));
    const p = plan(owner(), aged);
    expect(p.config).toBe('ttl');
    expect(p.images[0]).toMatchObject({ reason: 'ttl', notBefore: '2026-11-26T11:00:00.000Z' });
    expect(plan(owner(), aged, ctx({ nowMs: updatedAtMs + 1000 }))).toEqual({ images: [] });
  });

  it('re-matches reports built on another DB', () => {
    const old = current.map((r) => ({ ...r, dbUpdatedAt: '2026-01-01T00:00:00Z' }));
    expect(
      plan(owner(), old, ctx({ dbUpdatedAt: '2026-11-01T00:00:00Z' })).images.map((i) => i.reason),
    ).toEqual(['db', 'db']);
  });

  it('counts an error report of an older writer (zero findings: it looks clean) as missing', () => {
    // The writer deletes it at the next failure; the failure record holds the requests meanwhile.
    const failed = current.map((r) => ({ ...r, scanError: 'UNAUTHORIZED: no' }));
    expect(plan(owner(), failed).images.map((i) => i.reason)).toEqual(['missing', 'missing']);
    expect(plan(owner(), failed, ctx({ secrets: true })).images.map((i) => i.reason)).toEqual([
      'missing',
      'missing',
    ]);
  });

  it('asks only for the container whose report is missing', () => {
    const without = current.filter((r) => r.name !== 'replicaset-web-abc-side');
    expect(plan(owner(), without)).toEqual({
      images: [{ container: 'side', image: 'r/side:1', reason: 'missing' }],
    });
  });

  it('expects exposed secret reports when secret scanning is on', () => {
    expect(plan(owner(), current, ctx({ secrets: true })).images.map((i) => i.reason)).toEqual([
      'missing',
      'missing',
    ]);
  });
});
