import { describe, expect, it } from 'vitest';
import { expectedReports, ownerAuditManifest, planFleet, workloadManifest } from './fleet.ts';

const images = Array.from({ length: 20 }, (_, i) => `r/app-${i}:v1`);

describe('planFleet', () => {
  const fleet = planFleet({ owners: 1000, images, containers: 2, perNamespace: 50 });

  it('is mostly Deployments, with StatefulSets, DaemonSets and CronJobs', () => {
    const count = (k: string) => fleet.filter((w) => w.kind === k).length;
    expect(count('Deployment')).toBe(850);
    expect(count('StatefulSet')).toBe(50);
    expect(count('DaemonSet')).toBe(50);
    expect(count('CronJob')).toBe(50);
  });

  it('gives every fifth workload two containers on two different images and uses every image', () => {
    const multi = fleet.filter((w) => w.containers.length === 2);
    expect(multi).toHaveLength(200);
    for (const w of multi) expect(new Set(w.containers.map((c) => c.image)).size).toBe(2);
    expect(new Set(fleet.flatMap((w) => w.containers.map((c) => c.image))).size).toBe(20);
    expect(fleet.reduce((a, w) => a + expectedReports(w), 0)).toBe(1000 + 1200);
  });

  it('spreads owners over namespaces with unique names', () => {
    expect(new Set(fleet.map((w) => w.namespace)).size).toBe(20);
    expect(new Set(fleet.map((w) => `${w.namespace}/${w.name}`)).size).toBe(1000);
  });
});

describe('manifests', () => {
  const [deploy, , , , , sts] = planFleet({ owners: 20, images, containers: 2, perNamespace: 50 });

  it('labels the workload and its pod template with the run', () => {
    const m = workloadManifest(deploy!, 'run1') as {
      metadata: { labels: Record<string, string> };
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    expect(m.metadata.labels['fleetscan.io/bench']).toBe('run1');
    expect(m.spec.template.metadata.labels['fleetscan.io/bench']).toBe('run1');
  });

  it('audits a Deployment as its ReplicaSet, other kinds as themselves', () => {
    expect(ownerAuditManifest(deploy!, 'r')).toMatchObject({ kind: 'ReplicaSet', apiVersion: 'apps/v1' });
    expect(ownerAuditManifest(sts!, 'r')).toMatchObject({ kind: 'StatefulSet' });
  });
});
