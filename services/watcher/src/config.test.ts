import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('watcher config', () => {
  it('refuses scan settings past the message limits at start, naming the variable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-watcher-config-'));
    dirs.push(dir);
    const policy = join(dir, 'policy.rego');
    await writeFile(policy, `package trivy\n${'#'.repeat(70_000)}\n`);
    expect(() => loadConfig({ CLUSTER_NAME: 'c1', IGNORE_POLICY: policy })).toThrow(/IGNORE_POLICY: Too big/);
    expect(loadConfig({ CLUSTER_NAME: 'c1', SKIP_DIRS: '/usr/share/doc' }).settings).toEqual({
      skipDirs: ['/usr/share/doc'],
    });
  });
  it('reads the API server proxy variables once, as client-go does', () => {
    const env = {
      CLUSTER_NAME: 'a',
      HTTPS_PROXY: 'http://proxy:3128',
      https_proxy: 'http://other:1',
      no_proxy: '10.0.0.0/8',
    };
    expect(loadConfig(env).kubeProxy).toEqual({
      httpsProxy: 'http://proxy:3128',
      httpProxy: undefined,
      noProxy: '10.0.0.0/8',
      cgi: false,
    });
  });
});

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
