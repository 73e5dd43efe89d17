import { describe, expect, it } from 'vitest';
import { createScope } from './filters.ts';

const base = {
  namespacesInclude: [],
  namespacesExclude: [],
  kinds: ['ReplicaSet', 'Pod', 'ClusterRole', 'Service'],
  auditKinds: ['ReplicaSet', 'Pod', 'ClusterRole'],
  infra: true,
  skipLabels: [],
  excludeImages: [],
  initContainers: true,
  ephemeralContainers: true,
};

describe('scope', () => {
  it('filters namespaces, kinds and labels', () => {
    const s = createScope({
      ...base,
      namespacesInclude: ['team-*', 'default'],
      namespacesExclude: ['team-secret'],
      skipLabels: ['fleetscan.io/skip', 'tier=test'],
    });
    const o = (namespace: string, labels: Record<string, string> = {}, kind = 'ReplicaSet') => ({
      namespace,
      labels,
      kind,
    });
    expect(s.ownerInScope(o('team-a'))).toBe(true);
    expect(s.ownerInScope(o('team-secret'))).toBe(false);
    expect(s.ownerInScope(o('kube-system'))).toBe(false);
    expect(s.ownerInScope(o('default', {}, 'CronJob'))).toBe(false);
    expect(s.ownerInScope(o('default', { 'fleetscan.io/skip': '' }))).toBe(false);
    expect(s.ownerInScope(o('default', { tier: 'test' }))).toBe(false);
    expect(s.ownerInScope(o('default', { tier: 'prod' }))).toBe(true);
    // Cluster-scoped objects are in no namespace: the namespace filters leave them in.
    expect(s.ownerInScope(o('', {}, 'ClusterRole'))).toBe(true);
    expect(s.ownerInScope(o('', { tier: 'test' }, 'ClusterRole'))).toBe(false);
  });

  it('tells which audit reports an owner gets: none for a kind not audited', () => {
    const s = createScope(base);
    expect(s.auditReports({ kind: 'ClusterRole', name: 'wide', namespace: '' })).toEqual([
      { kind: 'ClusterRbacAssessmentReport', name: 'clusterrole-wide' },
    ]);
    expect(s.auditReports({ kind: 'Service', name: 'web', namespace: 'shop' })).toEqual([]);
    const apiserver = { kind: 'Pod', name: 'kube-apiserver-n1', namespace: 'kube-system' };
    expect(s.auditReports(apiserver).map((r) => r.kind)).toEqual([
      'ConfigAuditReport',
      'InfraAssessmentReport',
    ]);
    expect(createScope({ ...base, infra: false }).auditReports(apiserver)).toHaveLength(1);
  });

  it('filters containers by kind and image glob', () => {
    const containers = [
      { name: 'app', image: 'reg/app:1', kind: 'container' as const },
      { name: 'init', image: 'reg/init:1', kind: 'initContainer' as const },
      { name: 'debug', image: 'busybox', kind: 'ephemeralContainer' as const },
      { name: 'proxy', image: 'mirror.local/envoy:1', kind: 'container' as const },
    ];
    const s = createScope({ ...base, initContainers: false, excludeImages: ['mirror.local/*'] });
    expect(s.containers({ containers }).map((c) => c.name)).toEqual(['app', 'debug']);
  });
});
