import { describe, expect, it } from 'vitest';
import { configAuditArgs, convertArgs, imageScanArgs, sbomScanArgs, trivyEnv, versionArgs } from './args.ts';

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
      '--list-all-pkgs',
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
      imageConfigScanners: ['secret'],
      severities: ['HIGH', 'CRITICAL', 'HIGH'],
      ignoreUnfixed: true,
      skipFiles: ['/etc/a', '/etc/b'],
      skipDirs: ['/usr/share/doc'],
      ignoreFile: '/cfg/.trivyignore',
      ignorePolicy: '/cfg/ignore.rego',
    });
    expect(args.slice(args.indexOf('--scanners'))).toEqual([
      '--scanners',
      'vuln,secret',
      '--image-config-scanners',
      'secret',
      '--skip-files',
      '/etc/a',
      '--skip-files',
      '/etc/b',
      '--skip-dirs',
      '/usr/share/doc',
      '--severity',
      'HIGH,CRITICAL',
      '--ignore-unfixed',
      '--ignorefile',
      '/cfg/.trivyignore',
      '--ignore-policy',
      '/cfg/ignore.rego',
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

describe('sbomScanArgs', () => {
  it('matches an SBOM file offline, vulnerabilities only, without --skip-check-update (unknown to sbom)', () => {
    expect(sbomScanArgs({ sbom: '/tmp/x/sbom.cdx.json', cacheDir: '/c', timeoutMs: 60_000 })).toEqual([
      'sbom',
      '--cache-dir',
      '/c',
      '--format',
      'json',
      '--timeout',
      '60s',
      '--skip-db-update',
      '--skip-java-db-update',
      '--offline-scan',
      '--skip-version-check',
      '--disable-telemetry',
      '--cache-backend',
      'memory',
      '--no-progress',
      '--scanners',
      'vuln',
      '--',
      '/tmp/x/sbom.cdx.json',
    ]);
  });

  it('takes the match-time settings with the same flags as an image scan', () => {
    const match = {
      severities: ['CRITICAL', 'HIGH'] as const,
      ignoreUnfixed: true,
      ignoreFile: '/t/.trivyignore',
      ignorePolicy: '/t/policy.rego',
    };
    const sbom = sbomScanArgs({ sbom: 's.json', cacheDir: '/c', timeoutMs: 1000, ...match });
    const image = imageScanArgs({
      ref: 'r/x:1',
      cacheDir: '/c',
      timeoutMs: 1000,
      scanners: ['vuln'],
      ...match,
    });
    const tail = (a: string[]) => a.slice(a.indexOf('--severity'), a.indexOf('--'));
    expect(tail(sbom)).toEqual([
      '--severity',
      'CRITICAL,HIGH',
      '--ignore-unfixed',
      '--ignorefile',
      '/t/.trivyignore',
      '--ignore-policy',
      '/t/policy.rego',
    ]);
    expect(tail(image)).toEqual(tail(sbom));
  });
});

describe('convertArgs', () => {
  it('converts a saved JSON report to CycloneDX with global flags only', () => {
    expect(convertArgs({ report: '/tmp/x/image.json', cacheDir: '/c', timeoutMs: 30_000 })).toEqual([
      'convert',
      '--cache-dir',
      '/c',
      '--format',
      'cyclonedx',
      '--timeout',
      '30s',
      '--',
      '/tmp/x/image.json',
    ]);
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
