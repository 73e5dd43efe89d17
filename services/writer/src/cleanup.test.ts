import type { ReportRef } from '@fleetscan/inventory';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCleanup } from './cleanup.ts';
import { createWriterMetrics } from './metrics.ts';
import { owner, recordingLogger } from './testing/fixtures.ts';

const report = (name: string, resourceKind: string, namespace = 'team-a'): ReportRef => ({
  kind: resourceKind === 'ClusterRole' ? 'ClusterRbacAssessmentReport' : 'ConfigAuditReport',
  namespace,
  name,
  uid: `r-${name}`,
  ownerUid: `gone-${name}`,
  managedBy: 'fleetscan',
  resourceKind,
});

describe('cleanup sweep', () => {
  it('deletes a report whose owner is not an owner on two sweeps, only for the kinds it watches', async () => {
    const reports = [report('replicaset-old', 'ReplicaSet'), report('clusterrole-wide', 'ClusterRole', '')];
    const deleted: string[] = [];
    const cleanup = createCleanup({
      inventory: { reports: () => reports, report: () => undefined, ownerByUid: () => undefined },
      ownerKinds: new Set(['ReplicaSet']),
      api: {
        delete: async (plural, namespace, name) => {
          deleted.push(`${plural} ${namespace}/${name}`);
        },
      },
      metrics: createWriterMetrics(new Registry()),
      logger: recordingLogger(),
    });
    await cleanup.sweep();
    expect(deleted).toEqual([]);
    await cleanup.sweep();
    // ClusterRoles are not watched by this writer: their reports are not its to judge.
    expect(deleted).toEqual(['configauditreports team-a/replicaset-old']);
  });

  it("deletes a former owner's reports at once, cluster-scoped ones without a namespace", async () => {
    const gone = { ...owner('wide', ''), kind: 'ClusterRole' as const, containers: [] };
    const existing: ReportRef = {
      kind: 'ClusterRbacAssessmentReport',
      namespace: '',
      name: 'clusterrole-wide',
      uid: 'r1',
      ownerUid: gone.uid,
      managedBy: 'fleetscan',
    };
    const deleted: string[] = [];
    const cleanup = createCleanup({
      inventory: {
        reports: () => [existing],
        report: (kind, namespace, name) =>
          kind === existing.kind && namespace === '' && name === existing.name ? existing : undefined,
        ownerByUid: () => undefined,
      },
      ownerKinds: new Set(['ClusterRole']),
      api: {
        delete: async (plural, namespace, name) => {
          deleted.push(`${plural} ${namespace}/${name}`);
        },
      },
      metrics: createWriterMetrics(new Registry()),
      logger: recordingLogger(),
    });
    await cleanup.ownerGone(gone);
    expect(deleted).toEqual(['clusterrbacassessmentreports /clusterrole-wide']);
  });
});
