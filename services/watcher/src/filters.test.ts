import { describe, expect, it } from 'vitest';
import { createScope } from './filters.ts';

const base = {
  namespacesInclude: [],
  namespacesExclude: [],
  kinds: ['ReplicaSet', 'Pod'],
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
