import { ownerFilterMatches } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { ignorePoliciesFrom, resolveIgnorePolicy } from './ignore-policies.ts';

const files = {
  'trivy.ignorePolicy': 'global',
  'trivy.ignorePolicy.kube-system': 'kube-system',
  'trivy.ignorePolicy.team-*': 'teams',
  'trivy.ignorePolicy.application.my-app-.': 'my-app',
  'trivy.ignorePolicy.application.my-app-canary-*': 'canary',
  // Not policies: the rest of trivy-operator's ConfigMap, and Kubernetes' own files in a volume.
  'trivy.severity': 'HIGH',
  '..data': '',
};

describe('ignorePoliciesFrom (trivy-operator ConfigMap keys)', () => {
  it('reads the global, namespace and workload keys, a dot in the workload part a wildcard', () => {
    const p = ignorePoliciesFrom(files);
    expect(p.keys.map((k) => [k.key, k.namespace, k.workload])).toEqual([
      ['trivy.ignorePolicy.application.my-app-canary-*', 'application', 'my-app-canary-*'],
      ['trivy.ignorePolicy.application.my-app-.', 'application', 'my-app-*'],
      ['trivy.ignorePolicy.kube-system', 'kube-system', undefined],
      ['trivy.ignorePolicy.team-*', 'team-*', undefined],
      ['trivy.ignorePolicy', undefined, undefined],
    ]);
  });

  it.each(['trivy.ignorePolicy.', 'trivy.ignorePolicy.ns.'])('refuses %s', (key) => {
    expect(() => ignorePoliciesFrom({ [key]: 'x' })).toThrow(/cannot read/);
  });
});

describe('resolveIgnorePolicy', () => {
  const p = ignorePoliciesFrom(files);
  const policyOf = (ns: string, name: string) => resolveIgnorePolicy(p, ns, name).key?.policy;

  it('takes the most specific key: workload, then namespace, then the global one', () => {
    expect(policyOf('application', 'my-app-6d4cf56db6')).toBe('my-app');
    expect(policyOf('application', 'my-app-canary-5c9')).toBe('canary');
    expect(policyOf('application', 'other-7f8')).toBe('global');
    expect(policyOf('kube-system', 'coredns-5d78')).toBe('kube-system');
    expect(policyOf('team-a', 'web')).toBe('teams');
    expect(policyOf('default', 'web')).toBe('global');
  });

  it('matches the namespace part against the namespace only (unlike upstream)', () => {
    const q = ignorePoliciesFrom({ 'trivy.ignorePolicy.app': 'app' });
    expect(resolveIgnorePolicy(q, 'shop', 'webapp').key).toBeUndefined();
    expect(resolveIgnorePolicy(q, 'app', 'webapp').key?.policy).toBe('app');
  });

  it('gives no owner filter where no workload key applies, so one request serves the namespace', () => {
    expect(resolveIgnorePolicy(p, 'team-a', 'web').ownerFilter).toBeUndefined();
    expect(resolveIgnorePolicy(ignorePoliciesFrom({}), 'x', 'y')).toEqual({});
  });

  it('gives owner filters that split the namespace exactly as the owners resolve', () => {
    const owners = ['my-app-6d4cf56db6', 'my-app-canary-5c9', 'other-7f8', 'my-app-1'];
    for (const owner of owners) {
      const { key, ownerFilter } = resolveIgnorePolicy(p, 'application', owner);
      const reached = owners.filter((o) => ownerFilterMatches(ownerFilter, o));
      const same = owners.filter((o) => resolveIgnorePolicy(p, 'application', o).key?.key === key?.key);
      expect(reached, owner).toEqual(same);
    }
  });
});
