import { describe, expect, it } from 'vitest';
import { configAuditArgs, imageScanArgs, trivyEnv, versionArgs } from './args.ts';

const OFFLINE = [
  '--skip-db-update',
  '--skip-java-db-update',
  '--offline-scan',
  '--skip-check-update',
  '--skip-version-check',
  '--disable-telemetry',
];

describe('imageScanArgs', () => {
  it('builds an offline, remote-only JSON scan with the reference after --', () => {
    expect(
      imageScanArgs({
        ref: 'reg:5000/library/nginx:1.20',
        cacheDir: '/c',
        timeoutMs: 90_500,
        scanners: ['vuln'],
      }),
    ).toEqual([
      'image',
      '--cache-dir',
      '/c',
      '--format',
      'json',
      '--timeout',
      '91s',
      ...OFFLINE,
      '--image-src',
      'remote',
      '--cache-backend',
      'memory',
      '--no-progress',
      '--scanners',
      'vuln',
      '--',
      'reg:5000/library/nginx:1.20',
    ]);
  });

  it('adds filters, one flag per skipped path, and de-duplicates lists', () => {
    const args = imageScanArgs({
      ref: 'nginx',
      cacheDir: '/c',
      timeoutMs: 1,
      scanners: ['vuln', 'secret', 'vuln'],
      severities: ['HIGH', 'CRITICAL', 'HIGH'],
      ignoreUnfixed: true,
      skipFiles: ['/etc/a', '/etc/b'],
      skipDirs: ['/usr/share/doc'],
      ignoreFile: '/cfg/.trivyignore',
    });
    expect(args.slice(args.indexOf('--scanners'))).toEqual([
      '--scanners',
      'vuln,secret',
      '--severity',
      'HIGH,CRITICAL',
      '--ignore-unfixed',
      '--skip-files',
      '/etc/a',
      '--skip-files',
      '/etc/b',
      '--skip-dirs',
      '/usr/share/doc',
      '--ignorefile',
      '/cfg/.trivyignore',
      '--',
      'nginx',
    ]);
    expect(args).toContain('1s');
  });

  it('keeps a reference that looks like a flag behind --', () => {
    const args = imageScanArgs({ ref: '--help', cacheDir: '/c', timeoutMs: 1000, scanners: ['vuln'] });
    expect(args.slice(-2)).toEqual(['--', '--help']);
  });

  it('needs a scanner', () => {
    expect(() => imageScanArgs({ ref: 'x', cacheDir: '/c', timeoutMs: 1000, scanners: [] })).toThrow(
      RangeError,
    );
  });
});

describe('configAuditArgs', () => {
  it('audits Kubernetes manifests only, without the image-only flags trivy config rejects', () => {
    expect(configAuditArgs({ dir: '/batch', cacheDir: '/c', timeoutMs: 60_000 })).toEqual([
      'config',
      '--cache-dir',
      '/c',
      '--format',
      'json',
      '--timeout',
      '60s',
      '--skip-check-update',
      '--skip-version-check',
      '--disable-telemetry',
      '--misconfig-scanners',
      'kubernetes',
      '--',
      '/batch',
    ]);
  });

  it('adds severities, passes and the cluster version', () => {
    const args = configAuditArgs({
      dir: '/batch',
      cacheDir: '/c',
      timeoutMs: 60_000,
      severities: ['LOW'],
      includePassed: true,
      k8sVersion: '1.36.3',
    });
    expect(args.slice(args.indexOf('kubernetes') + 1)).toEqual([
      '--severity',
      'LOW',
      '--include-non-failures',
      '--k8s-version',
      '1.36.3',
      '--',
      '/batch',
    ]);
  });
});

describe('trivyEnv', () => {
  it('puts credentials in the environment only and hides the docker config', () => {
    const auth = { username: 'u', password: 'p4ss' };
    const env = trivyEnv({
      cacheDir: '/c',
      registryAuth: auth,
      extraEnv: { HTTPS_PROXY: 'http://proxy:3128' },
    });
    expect(env).toEqual({
      DOCKER_CONFIG: '/c/.no-docker-config',
      HTTPS_PROXY: 'http://proxy:3128',
      TRIVY_USERNAME: 'u',
      TRIVY_PASSWORD: 'p4ss',
    });
    const args = imageScanArgs({ ref: 'r/x:1', cacheDir: '/c', timeoutMs: 1000, scanners: ['vuln'] });
    expect(args.join(' ')).not.toContain('p4ss');
  });

  it('has no credentials when none are given, whatever extraEnv says', () => {
    expect(trivyEnv({ cacheDir: '/c' })).toEqual({ DOCKER_CONFIG: '/c/.no-docker-config' });
    expect(trivyEnv({ cacheDir: '/c', extraEnv: { DOCKER_CONFIG: '/etc/docker' } })).toEqual({
      DOCKER_CONFIG: '/etc/docker',
    });
  });
});

describe('versionArgs', () => {
  it('asks for JSON about this cache dir', () => {
    expect(versionArgs('/c')).toEqual(['version', '--format', 'json', '--cache-dir', '/c']);
  });
});
