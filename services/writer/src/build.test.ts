import type { ConfigAuditData, ImageScanData } from '@fleetscan/bus';
import { type Owner, reportProjector } from '@fleetscan/inventory';
import { ConfigAuditReportSchema, VulnerabilityReportSchema } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import {
  buildConfigAuditReport,
  buildExposedSecretReport,
  buildVulnerabilityReport,
  forReference,
} from './build.ts';

const owner = {
  kind: 'ReplicaSet',
  apiVersion: 'apps/v1',
  namespace: 'default',
  name: 'naive-6d4cf56db6',
  uid: 'uid-1',
  labels: { app: 'nginx' },
  specHash: 'abc123',
  containers: [{ name: 'nginx', image: 'r/nginx:1.20', kind: 'container' }],
} as unknown as Owner;

const scan: ImageScanData = {
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  registry: { server: 'r' },
  artifact: { repository: 'nginx', tag: '1.20', digest: 'sha256:1' },
  os: { family: 'debian', name: '11.3' },
  vulnerabilities: [
    {
      vulnerabilityID: 'CVE-1',
      resource: 'curl',
      installedVersion: '1',
      fixedVersion: '2',
      publishedDate: '',
      lastModifiedDate: '',
      severity: 'CRITICAL',
      title: 't',
      links: [],
      target: 'x',
    },
    {
      vulnerabilityID: 'CVE-2',
      resource: 'apt',
      installedVersion: '1',
      fixedVersion: '',
      publishedDate: '',
      lastModifiedDate: '',
      severity: 'LOW',
      title: 't',
      links: [],
      target: 'x',
    },
  ],
  scannedAt: '2026-11-26T10:00:00Z',
  dbUpdatedAt: '2026-11-01T00:00:00Z',
};

describe('report builders', () => {
  it('builds a valid VulnerabilityReport owned by the owner, with summary and labels', () => {
    const r = buildVulnerabilityReport(owner, 'nginx', scan, 'scanhash', {
      ttlSeconds: 86400,
      maxReportBytes: 1_000_000,
    });
    expect(VulnerabilityReportSchema.parse(r)).toBeTruthy();
    expect(r.metadata.name).toBe('replicaset-naive-6d4cf56db6-nginx');
    expect(r.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'naive-6d4cf56db6',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: false,
      },
    ]);
    expect(r.metadata.labels).toMatchObject({
      'resource-spec-hash': 'abc123',
      'trivy-operator.container.name': 'nginx',
    });
    expect(r.report.summary).toMatchObject({ criticalCount: 1, lowCount: 1, highCount: 0 });
    expect(r.report.updateTimestamp).toBe(scan.scannedAt);
  });

  it('gives the same content hash to a rescan that found the same, and another to a changed finding', () => {
    const a = buildVulnerabilityReport(owner, 'nginx', scan, 'h', {
      ttlSeconds: 1,
      maxReportBytes: 1_000_000,
    });
    const b = buildVulnerabilityReport(owner, 'nginx', { ...scan, scannedAt: '2026-11-27T00:00:00Z' }, 'h', {
      ttlSeconds: 1,
      maxReportBytes: 1_000_000,
    });
    const c = buildVulnerabilityReport(
      owner,
      'nginx',
      { ...scan, vulnerabilities: scan.vulnerabilities.slice(1) },
      'h',
      { ttlSeconds: 1, maxReportBytes: 1_000_000 },
    );
    const hash = (x: typeof a) => x.metadata.annotations?.['fleetscan.io/content-hash'];
    expect(hash(a)).toBe(hash(b));
    expect(hash(a)).not.toBe(hash(c));
  });

  it('keeps an ExposedSecretReport as it was through a re-match against a newer DB (secrets come from the analysis)', () => {
    const s = { ttlSeconds: 1, maxReportBytes: 1_000_000 };
    const secrets = [
      {
        target: '/app/.env',
        ruleID: 'aws-access-key-id',
        title: 'AWS',
        category: 'AWS',
        severity: 'CRITICAL',
        match: 'AKIA*',
      },
    ] as NonNullable<ImageScanData['secrets']>;
    const analysed = { ...scan, secrets, analysedAt: scan.scannedAt };
    const rematched = { ...analysed, scannedAt: '2026-11-28T00:00:00Z', dbUpdatedAt: '2026-11-28T00:00:00Z' };
    // The same object, so the writer's decideWrite finds it unchanged: no write per refresh.
    expect(buildExposedSecretReport(owner, 'nginx', rematched, s)).toEqual(
      buildExposedSecretReport(owner, 'nginx', analysed, s),
    );
    // The VulnerabilityReport does carry the new match.
    expect(buildVulnerabilityReport(owner, 'nginx', rematched, 'h', s).report.updateTimestamp).toBe(
      rematched.scannedAt,
    );
  });

  it('copies the scan time and image digest into annotations a metadata-only watcher can read', () => {
    const r = buildVulnerabilityReport(owner, 'nginx', scan, 'h', {
      ttlSeconds: 1,
      maxReportBytes: 1_000_000,
    });
    const partial = { kind: 'PartialObjectMetadata', metadata: { ...r.metadata, uid: 'from-the-server' } };
    const ref = reportProjector('VulnerabilityReport')(partial as never);
    expect(ref?.updatedAtMs).toBe(Date.parse(scan.scannedAt));
    expect(ref?.artifact?.digest).toBe(scan.artifact.digest);
    expect(ref?.contentHash).toBe(r.metadata.annotations?.['fleetscan.io/content-hash']);
    expect(ref?.summary).toBeUndefined();
  });

  it('builds a valid ConfigAuditReport counting failed checks only', () => {
    const data: ConfigAuditData = {
      scanner: scan.scanner,
      scannedAt: scan.scannedAt,
      checks: [
        { checkID: 'KSV110', severity: 'LOW', success: false, title: 'default namespace', messages: ['m'] },
        { checkID: 'KSV014', severity: 'HIGH', success: false },
        { checkID: 'KSV001', severity: 'MEDIUM', success: true },
      ],
    };
    const r = buildConfigAuditReport(owner, data, 'plug', { ttlSeconds: 86400, maxReportBytes: 1_000_000 });
    expect(ConfigAuditReportSchema.parse(r)).toBeTruthy();
    expect(r.metadata.name).toBe('replicaset-naive-6d4cf56db6');
    expect(r.metadata.labels?.['plugin-config-hash']).toBe('plug');
    expect(r.metadata.annotations?.['trivy-operator.aquasecurity.github.io/report-ttl']).toBe('24h0m0s');
    expect(r.report.summary).toEqual({ criticalCount: 0, highCount: 1, mediumCount: 0, lowCount: 1 });
  });

  it('keeps a report under the size limit: full summary, most severe findings, count of omitted', () => {
    const many = Array.from({ length: 4000 }, (_, i) => ({
      ...scan.vulnerabilities[0]!,
      vulnerabilityID: `CVE-2026-${i}`,
      severity: (['LOW', 'CRITICAL', 'MEDIUM', 'HIGH'] as const)[i % 4]!,
      description: 'x'.repeat(400),
    }));
    const r = buildVulnerabilityReport(
      owner,
      'nginx',
      { ...scan, vulnerabilities: many },
      'h',
      { ttlSeconds: 1, maxReportBytes: 400_000 },
      ['Description'],
    );
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(400_000);
    expect(r.report.summary).toMatchObject({
      criticalCount: 1000,
      highCount: 1000,
      mediumCount: 1000,
      lowCount: 1000,
    });
    const kept = r.report.vulnerabilities;
    expect(kept.length).toBeGreaterThan(100);
    expect(Number(r.metadata.annotations?.['fleetscan.io/omitted-findings'])).toBe(4000 - kept.length);
    // Most severe first: every CRITICAL is kept before any lower severity.
    expect(kept.slice(0, 1000).every((v) => v.severity === 'CRITICAL')).toBe(true);
  });

  it("names the workload's own reference, keeping the tag of a repo:tag@sha256 reference as trivy-operator v0.32 does", () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const stored = { ...scan, registry: { server: 'mirror:5000' }, artifact: { repository: 'x', digest } };
    expect(forReference(stored, `127.0.0.1:5000/library/nginx:1.20@${digest}`)).toMatchObject({
      registry: { server: '127.0.0.1:5000' },
      artifact: { repository: 'library/nginx', tag: '1.20', digest },
    });
    expect(forReference(stored, `127.0.0.1:5000/library/nginx@${digest}`).artifact).toEqual({
      repository: 'library/nginx',
      digest,
    });
  });

  it("writes the owner's labels named in REPORT_RESOURCE_LABELS and REPORT_ADDITIONAL_LABELS on every kind", () => {
    const labelled = { ...owner, labels: { app: 'nginx', team: 'payments', tier: 'web' } } as Owner;
    const s = {
      ttlSeconds: 1,
      maxReportBytes: 1_000_000,
      resourceLabels: ['team', 'missing'],
      additionalLabels: { env: 'prod', team: 'override' },
    };
    const reports = [
      buildVulnerabilityReport(labelled, 'nginx', scan, 'h', s),
      buildExposedSecretReport(labelled, 'nginx', { ...scan, secrets: [] }, s),
      buildConfigAuditReport(
        labelled,
        { scanner: scan.scanner, scannedAt: scan.scannedAt, checks: [] },
        'p',
        s,
      ),
    ];
    for (const r of reports) {
      // additionalLabels win, as trivy-operator appends them after the resource labels.
      expect(r.metadata.labels).toMatchObject({ team: 'override', env: 'prod' });
      expect(r.metadata.labels).not.toHaveProperty('tier');
      expect(r.metadata.labels).not.toHaveProperty('missing');
    }
    const plain = buildVulnerabilityReport(labelled, 'nginx', scan, 'h', {
      ttlSeconds: 1,
      maxReportBytes: 1_000_000,
    });
    expect(plain.metadata.labels).not.toHaveProperty('team');
    // Labels are content: a label change is a write.
    const hash = (x: { metadata: { annotations?: Record<string, string> } }) =>
      x.metadata.annotations?.['fleetscan.io/content-hash'];
    expect(hash(plain)).not.toBe(hash(reports[0] as never));
  });
});
