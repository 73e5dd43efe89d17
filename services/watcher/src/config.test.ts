import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

let dir = '';
const dirs: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-watcher-config-'));
  dirs.push(dir);
});
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

  it('scans for vulnerabilities and secrets by default, as trivy-operator does', () => {
    expect(loadConfig({ CLUSTER_NAME: 'a' }).scanners).toEqual(['vuln', 'secret']);
  });

  it("reads trivy-operator's additional report fields, and refuses one it does not know", () => {
    const c = loadConfig({ CLUSTER_NAME: 'a', ADDITIONAL_VULNERABILITY_REPORT_FIELDS: 'Description, CVSS' });
    expect(c.settings.reportFields).toEqual(['Description', 'CVSS']);
    expect(loadConfig({ CLUSTER_NAME: 'a' }).settings).not.toHaveProperty('reportFields');
    expect(() =>
      loadConfig({ CLUSTER_NAME: 'a', ADDITIONAL_VULNERABILITY_REPORT_FIELDS: 'description' }),
    ).toThrow(/ADDITIONAL_VULNERABILITY_REPORT_FIELDS/);
  });

  it('sends a .trivyignore as text and a .trivyignore.yaml as YAML, refusing a broken one at start', async () => {
    await writeFile(join(dir, '.trivyignore'), 'CVE-1\n');
    await writeFile(join(dir, '.trivyignore.yaml'), 'vulnerabilities:\n  - id: CVE-1\n');
    await writeFile(join(dir, 'broken.yaml'), 'vulnerabilities:\n  - paths: [x]\n');
    expect(loadConfig({ CLUSTER_NAME: 'a', IGNORE_FILE: join(dir, '.trivyignore') }).settings).toMatchObject({
      ignoreFile: 'CVE-1\n',
    });
    const yaml = loadConfig({ CLUSTER_NAME: 'a', IGNORE_FILE: join(dir, '.trivyignore.yaml') }).settings;
    expect(yaml).toEqual({ ignoreFileYaml: 'vulnerabilities:\n  - id: CVE-1\n' });
    expect(() => loadConfig({ CLUSTER_NAME: 'a', IGNORE_FILE: join(dir, 'broken.yaml') })).toThrow(
      /IGNORE_FILE/,
    );
  });

  it("reads ignore policies from a directory holding trivy-operator's keys, as a mounted ConfigMap does", async () => {
    const cm = join(dir, 'configmap');
    const data = join(cm, '..2026_01_01_00_00_00.000000001');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'trivy.ignorePolicy.shop'), 'package trivy\n');
    await writeFile(join(data, 'trivy.severity'), 'HIGH');
    await symlink('..2026_01_01_00_00_00.000000001', join(cm, '..data'));
    await symlink('..data/trivy.ignorePolicy.shop', join(cm, 'trivy.ignorePolicy.shop'));
    await symlink('..data/trivy.severity', join(cm, 'trivy.severity'));
    const c = loadConfig({ CLUSTER_NAME: 'a', IGNORE_POLICY_DIR: cm });
    expect(c.ignorePolicies.keys).toEqual([
      { key: 'trivy.ignorePolicy.shop', policy: 'package trivy\n', namespace: 'shop' },
    ]);
    await writeFile(join(dir, 'global.rego'), 'package trivy\n');
    await writeFile(join(cm, 'trivy.ignorePolicy'), 'package trivy\n');
    expect(() =>
      loadConfig({ CLUSTER_NAME: 'a', IGNORE_POLICY_DIR: cm, IGNORE_POLICY: join(dir, 'global.rego') }),
    ).toThrow(/IGNORE_POLICY_DIR: holds trivy.ignorePolicy, and IGNORE_POLICY is set too/);
    expect(() => loadConfig({ CLUSTER_NAME: 'a', IGNORE_POLICY_DIR: join(dir, 'nope') })).toThrow(
      /IGNORE_POLICY_DIR/,
    );
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
