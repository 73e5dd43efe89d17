import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const base = { CLUSTER_NAME: 'c1' };

describe('watcher config: which kinds are audited', () => {
  it("defaults to trivy-operator's chart default, with Workload expanded", () => {
    const c = loadConfig(base);
    expect(c.resourceKinds).toEqual([
      'Service',
      'Role',
      'NetworkPolicy',
      'Ingress',
      'ResourceQuota',
      'LimitRange',
      'PersistentVolumeClaim',
      'ClusterRole',
      'PersistentVolume',
    ]);
    expect(c.scope.auditKinds).toEqual(expect.arrayContaining(['ReplicaSet', 'CronJob', 'Pod', 'Service']));
    expect(c.scope.infra).toBe(true);
  });

  it('audits only what is listed: workloads keep their image scans without a config audit', () => {
    const c = loadConfig({ ...base, SUPPORTED_CONFIG_AUDIT_KINDS: 'Service,Role,ClusterRole' });
    expect(c.scope.kinds).toEqual(expect.arrayContaining(['ReplicaSet', 'Pod', 'Service', 'Role']));
    expect(c.scope.auditKinds).toEqual(['Service', 'Role', 'ClusterRole']);
    const none = loadConfig({ ...base, SUPPORTED_CONFIG_AUDIT_KINDS: '' });
    expect(none.scope.auditKinds).toEqual([]);
    expect(none.resourceKinds).toEqual([]);
  });

  it('with RBAC assessment off, neither Roles nor ClusterRoles are read or reported on', () => {
    const c = loadConfig({
      ...base,
      SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload,Role,ClusterRole,ConfigMap',
      RBAC_ASSESSMENT_SCANNER_ENABLED: 'false',
      INFRA_ASSESSMENT_SCANNER_ENABLED: 'false',
    });
    expect(c.resourceKinds).toEqual(['ConfigMap']);
    expect(c.scope.kinds).not.toContain('Role');
    expect(c.scope.infra).toBe(false);
  });

  it('rejects a kind it does not audit, naming the variable', () => {
    expect(() => loadConfig({ ...base, SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload,Secret' })).toThrow(
      /SUPPORTED_CONFIG_AUDIT_KINDS/,
    );
  });
});
