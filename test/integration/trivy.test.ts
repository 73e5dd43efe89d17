import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';

// Offline: no version check or telemetry call, the fixture DB only, the embedded checks only.
const NO_CALLS = ['--skip-version-check', '--disable-telemetry'];
const OFFLINE_IMAGE = [...NO_CALLS, '--skip-db-update', '--skip-java-db-update', '--offline-scan'];
const OFFLINE_CONFIG = [...NO_CALLS, '--skip-check-update'];
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('trivy is real and runs offline on the fixture DB', () => {
  it('scans the Debian test image from the local registry and reports CVE-2021-22945 on curl', async () => {
    const { trivy, registry } = inject('stack');
    const res = await execa(
      trivy.bin,
      [
        'image',
        '--image-src',
        'remote',
        '--cache-dir',
        trivy.cacheDir,
        ...OFFLINE_IMAGE,
        '--scanners',
        'vuln',
        '--format',
        'json',
        `${registry.host}/library/nginx:1.20`,
      ],
      { env: { TRIVY_NO_PROGRESS: 'true' } },
    );
    const report = JSON.parse(res.stdout) as {
      Metadata: { OS: { Family: string; Name: string } };
      Results: {
        Vulnerabilities?: {
          VulnerabilityID: string;
          PkgName: string;
          Severity: string;
          InstalledVersion: string;
          FixedVersion?: string;
        }[];
      }[];
    };
    expect(report.Metadata.OS).toMatchObject({ Family: 'debian', Name: '11.3' });
    const vulns = report.Results.flatMap((r) => r.Vulnerabilities ?? []);
    expect(vulns).toContainEqual(
      expect.objectContaining({
        VulnerabilityID: 'CVE-2021-22945',
        PkgName: 'curl',
        Severity: 'CRITICAL',
        InstalledVersion: '7.74.0-1.3+deb11u1',
        FixedVersion: '7.74.0-1.3+deb11u2',
      }),
    );
  });

  it('audits the example Deployment and fails KSV003 and KSV110', async () => {
    const { trivy, registry } = inject('stack');
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-config-'));
    dirs.push(dir);
    const manifest = (
      await readFile(new URL('../fixtures/naive-deployment.yaml', import.meta.url), 'utf8')
    ).replace('REGISTRY', registry.host);
    await writeFile(join(dir, 'deployment.yaml'), manifest);
    const res = await execa(
      trivy.bin,
      ['config', '--cache-dir', trivy.cacheDir, ...OFFLINE_CONFIG, '--format', 'json', dir],
      {
        env: { TRIVY_NO_PROGRESS: 'true' },
      },
    );
    const report = JSON.parse(res.stdout) as {
      Results: { Misconfigurations?: { ID: string; Namespace: string; Status: string }[] }[];
    };
    const failed = report.Results.flatMap((r) => r.Misconfigurations ?? []).filter(
      (m) => m.Status === 'FAIL',
    );
    // trivy 0.74 prints IDs as KSV-0003; the rego namespace keeps the ID trivy-operator reports (KSV003).
    expect(failed.map((m) => m.ID)).toEqual(expect.arrayContaining(['KSV-0003', 'KSV-0110']));
    expect(failed.map((m) => m.Namespace.split('.').pop())).toEqual(
      expect.arrayContaining(['KSV003', 'KSV110']),
    );
  });
});
