import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrivyErrorCode } from './errors.ts';
import {
  parseImageReport,
  scoreOf,
  type TrivyDetectedVulnerability,
  toImageReportData,
} from './parse-image.ts';

/** Real `trivy image --format json --scanners vuln,secret` output (scripts/capture-fixtures.ts). */
function fixture(name: string): string {
  return readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8');
}

/** The registry's port was random at capture time; read it back instead of assuming it. */
function registryOf(json: string): string {
  const name = (JSON.parse(json) as { ArtifactName: string }).ArtifactName;
  return name.slice(0, name.indexOf('/'));
}

describe('nginx:1.20 (Debian 11 with the vulnerable curl)', () => {
  const json = fixture('image-nginx.json');
  const registry = registryOf(json);
  const data = toImageReportData(parseImageReport(json));

  it('names the registry and artifact as trivy-operator does (digest falls back to the image ID)', () => {
    expect(data.registry).toEqual({ server: registry });
    expect(data.artifact).toEqual({
      repository: 'library/nginx',
      tag: '1.20',
      digest: 'sha256:e06a44ce046e6b7d9dd67d70c919d8f271f296da0920a5e7d643970335eb35e0',
    });
    expect(data.manifestDigest).toBe(
      'sha256:2ac1772d680a1a1510451bdc98186b93a7878915ca3fce26a8578f2ce273d9fa',
    );
  });

  it('reports the OS, end of life included', () => {
    expect(data.os).toEqual({ family: 'debian', name: '11.3', eosl: true });
  });

  it('maps CVE-2021-22945 on curl field by field, every additional field and the PURL included', () => {
    expect(data.vulnerabilities).toHaveLength(12);
    const curl = data.vulnerabilities.find(
      (v) => v.vulnerabilityID === 'CVE-2021-22945' && v.resource === 'curl',
    );
    expect(curl).toEqual({
      vulnerabilityID: 'CVE-2021-22945',
      resource: 'curl',
      installedVersion: '7.74.0-1.3+deb11u1',
      fixedVersion: '7.74.0-1.3+deb11u2',
      publishedDate: '2021-09-23T13:15:00Z',
      lastModifiedDate: '',
      severity: 'CRITICAL',
      title: 'curl: use-after-free and double free in MQTT sending',
      description: expect.stringContaining('When sending data to an MQTT server'),
      primaryLink: 'https://avd.aquasec.com/nvd/cve-2021-22945',
      links: [
        'https://curl.se/docs/CVE-2021-22945.html',
        'https://www.debian.org/security/2022/dsa-5197',
        'https://security-tracker.debian.org/tracker/CVE-2021-22945',
      ],
      score: 9.1,
      target: `${registry}/library/nginx:1.20 (debian 11.3)`,
      cvss: { nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H', V3Score: 9.1 } },
      class: 'os-pkgs',
      packageType: 'debian',
      // PkgIdentifier.PURL, trivy-operator's source of packagePURL.
      packagePURL: 'pkg:deb/debian/curl@7.74.0-1.3%2Bdeb11u1?arch=amd64&distro=debian-11.3',
    });
  });

  it('keeps unfixed vulnerabilities with an empty fixedVersion and no score without a V3 score', () => {
    const v = data.vulnerabilities.find((x) => x.vulnerabilityID === 'CVE-2010-4756');
    expect(v).toMatchObject({ resource: 'libc6', severity: 'LOW', fixedVersion: '' });
    expect(v).not.toHaveProperty('score');
  });

  it("takes the severity from trivy's Severity (its SeveritySource's rating), not from a CVSS score", () => {
    const raw = parseImageReport(json).Results?.[0]?.Vulnerabilities?.find(
      (x) => x.VulnerabilityID === 'CVE-2010-4756',
    );
    // NVD rates it 4.0 (v2, MEDIUM); Debian, whose rating trivy reports, LOW.
    expect(raw).toMatchObject({ SeveritySource: 'debian', Severity: 'LOW', CVSS: { nvd: { V2Score: 4 } } });
    expect(data.vulnerabilities.find((x) => x.vulnerabilityID === 'CVE-2010-4756')?.severity).toBe('LOW');
  });

  it('uses the scanned reference when given (digest references keep their digest, and a tag next to it)', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const pinned = toImageReportData(parseImageReport(json), {
      imageRef: `${registry}/library/nginx@${digest}`,
    });
    expect(pinned.artifact).toEqual({ repository: 'library/nginx', digest });
    const both = toImageReportData(parseImageReport(json), {
      imageRef: `${registry}/library/nginx:1.20@${digest}`,
    });
    expect(both.artifact).toEqual({ repository: 'library/nginx', tag: '1.20', digest });
  });
});

describe('alpine:3.18, clean:1.0 and the planted secret', () => {
  it('alpine: four MEDIUM OpenSSL findings', () => {
    const data = toImageReportData(parseImageReport(fixture('image-alpine.json')));
    expect(data.os).toEqual({ family: 'alpine', name: '3.18.0', eosl: true });
    expect(data.vulnerabilities.map((v) => `${v.vulnerabilityID}/${v.resource}/${v.severity}`)).toEqual([
      'CVE-2023-2650/libcrypto3/MEDIUM',
      'CVE-2023-2975/libcrypto3/MEDIUM',
      'CVE-2023-2650/libssl3/MEDIUM',
      'CVE-2023-2975/libssl3/MEDIUM',
    ]);
    expect(data.secrets).toEqual([]);
  });

  it('clean: nothing found, and eosl left out when false', () => {
    const data = toImageReportData(parseImageReport(fixture('image-clean.json')));
    expect(data.os).toEqual({ family: 'debian', name: '12.5' });
    expect(data.vulnerabilities).toEqual([]);
    expect(data.secrets).toEqual([]);
    expect(data.artifact).toMatchObject({ repository: 'library/clean', tag: '1.0' });
  });

  it('secret: the redacted AWS key pair in /app/credentials, and the token in the image config', () => {
    const json = fixture('image-secret.json');
    const data = toImageReportData(parseImageReport(json));
    expect(data.secrets).toEqual([
      {
        target: '/app/credentials',
        ruleID: 'aws-access-key-id',
        title: 'AWS Access Key ID',
        category: 'AWS',
        severity: 'CRITICAL',
        match: 'aws_access_key_id = ********************',
      },
      {
        target: '/app/credentials',
        ruleID: 'aws-secret-access-key',
        title: 'AWS Secret Access Key',
        category: 'AWS',
        severity: 'CRITICAL',
        match: 'aws_secret_access_key = ****************************************',
      },
      // --image-config-scanners secret: trivy names the image itself as the target.
      {
        target: `${registryOf(json)}/library/secret:1.0`,
        ruleID: 'jwt-token',
        title: 'JWT token',
        category: 'JWT',
        severity: 'MEDIUM',
        match: expect.stringMatching(/^ {2}"API_TOKEN=\*+"$/),
      },
    ]);
    expect(data.vulnerabilities).toHaveLength(4);
  });
});

describe('parseImageReport', () => {
  it('rejects what is not JSON', () => {
    expect(() => parseImageReport('oops')).toThrow(expect.objectContaining({ code: TrivyErrorCode.Parse }));
  });
  it('rejects a config report and other schema versions, naming the field', () => {
    expect(() => parseImageReport(fixture('config-audit.json'))).toThrow(/ArtifactType/);
    const v3 = fixture('image-clean.json').replace('"SchemaVersion": 2', '"SchemaVersion": 3');
    expect(() => parseImageReport(v3)).toThrow(expect.objectContaining({ code: TrivyErrorCode.Parse }));
  });
  it('keeps fields it does not know about', () => {
    const report = parseImageReport(fixture('image-nginx.json'));
    expect(report).toHaveProperty('ReportID');
    expect(report.Results?.[0]?.Vulnerabilities?.[0]).toHaveProperty('Fingerprint');
  });
  it('accepts a report without Results (trivy omits the key when empty)', () => {
    // Hand-written: the smallest report trivy's Go types allow.
    const data = toImageReportData(
      parseImageReport(
        '{"SchemaVersion":2,"ArtifactName":"nginx","ArtifactType":"container_image","Metadata":{}}',
      ),
    );
    expect(data).toEqual({
      registry: { server: 'index.docker.io' },
      artifact: { repository: 'library/nginx', tag: 'latest' },
      os: { family: '' },
      vulnerabilities: [],
      secrets: [],
    });
  });
});

describe('scoreOf (trivy-operator v0.32 GetScoreFromCVSS, made deterministic)', () => {
  const vuln = (cvss: TrivyDetectedVulnerability['CVSS'], source?: string): TrivyDetectedVulnerability => ({
    VulnerabilityID: 'CVE-1',
    PkgName: 'p',
    InstalledVersion: '1',
    Severity: 'HIGH',
    ...(source && { SeveritySource: source }),
    ...(cvss && { CVSS: cvss }),
  });
  it('prefers NVD as upstream does, then the severity source, then vendors by name; 0 means no score', () => {
    expect(scoreOf(vuln({ redhat: { V3Score: 7 }, nvd: { V3Score: 9 } }))).toBe(9);
    expect(
      scoreOf(vuln({ nvd: { V3Score: 0 }, redhat: { V3Score: 7 }, ghsa: { V3Score: 5 } }, 'redhat')),
    ).toBe(7);
    expect(scoreOf(vuln({ redhat: { V3Score: 7 }, ghsa: { V3Score: 5 } }))).toBe(5);
    expect(scoreOf(vuln({ nvd: { V2Score: 5 } }))).toBeUndefined();
    expect(scoreOf(vuln(undefined))).toBeUndefined();
  });
});
