import type { Owner, ReportKind, ReportRef } from '@fleetscan/inventory';
import { describe, expect, it } from 'vitest';
import { planOwner } from './plan.ts';

const hashes = { scanConfigHash: 'scan1', pluginConfigHash: 'plug1' };
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
  return (kind: ReportKind, namespace: string, name: string) =>
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
  },
];

describe('planOwner', () => {
  it('asks for everything when nothing is reported', () => {
    expect(planOwner(owner(), lookupOf([]), hashes)).toEqual({
      config: true,
      images: [
        { container: 'app', image: 'r/app:1' },
        { container: 'side', image: 'r/side:1' },
      ],
    });
  });

  it('asks for nothing when every report is current', () => {
    expect(planOwner(owner(), lookupOf(current), hashes)).toEqual({ config: false, images: [] });
  });

  it('treats a new pod spec hash as stale for every report', () => {
    expect(planOwner(owner({ specHash: 'spec2' }), lookupOf(current), hashes)).toMatchObject({
      config: true,
      images: [{ container: 'app' }, { container: 'side' }],
    });
  });

  it('treats a report of a previous owner with the same name (other uid) as stale', () => {
    expect(planOwner(owner({ uid: 'u2' }), lookupOf(current), hashes).config).toBe(true);
  });

  it('re-audits when the plugin config changes and rescans when scan settings change', () => {
    expect(planOwner(owner(), lookupOf(current), { ...hashes, pluginConfigHash: 'plug2' })).toEqual({
      config: true,
      images: [],
    });
    expect(planOwner(owner(), lookupOf(current), { ...hashes, scanConfigHash: 'scan2' }).images).toHaveLength(
      2,
    );
  });

  it('asks only for the container whose report is missing', () => {
    const without = current.filter((r) => r.name !== 'replicaset-web-abc-side');
    expect(planOwner(owner(), lookupOf(without), hashes)).toEqual({
      config: false,
      images: [{ container: 'side', image: 'r/side:1' }],
    });
  });
});
