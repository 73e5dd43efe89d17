import { describe, expect, it } from 'vitest';
import { reportDetailProjector } from './report-detail.ts';
import { reportProjector } from './report-ref.ts';

const vuln = (id: string, over: Record<string, unknown> = {}) => ({
  vulnerabilityID: id,
  resource: 'curl',
  installedVersion: '7.74.0-1.3+deb11u1',
  fixedVersion: '7.74.0-1.3+deb11u3',
  publishedDate: '2021-09-23T13:15:00Z',
  lastModifiedDate: '2022-04-01T00:00:00Z',
  severity: 'HIGH',
  title: `${id} title`,
  score: 7.5,
  target: '',
  links: [],
  class: 'os-pkgs',
  packageType: 'debian',
  ...over,
});

const object = (name: string, labels: Record<string, string>, report: Record<string, unknown>) => ({
  metadata: { name, namespace: 'ns', uid: name, labels },
  report,
});

describe('reportDetailProjector', () => {
  const all = {
    labels: ['team', 'app.kubernetes.io/name'],
    os: true,
    vulnerabilities: true,
    secrets: true,
    checks: ['ConfigAuditReport', 'RbacAssessmentReport', 'InfraAssessmentReport'] as const,
  };

  it('keeps the asked-for report labels in the asked order, and each finding with the fields the info metrics read', () => {
    const detail = reportDetailProjector(all);
    const d = detail(
      'VulnerabilityReport',
      { 'app.kubernetes.io/name': 'web', team: 'a', other: 'x' },
      { os: { family: 'debian', name: '11.2', eosl: true }, vulnerabilities: [vuln('CVE-1')] },
    );
    expect(Object.keys(d?.labels ?? {})).toEqual(['team', 'app.kubernetes.io/name']);
    expect(d?.os).toEqual({ family: 'debian', name: '11.2', eosl: true });
    expect(d?.vulnerabilities).toEqual([
      {
        vulnerabilityID: 'CVE-1',
        resource: 'curl',
        installedVersion: '7.74.0-1.3+deb11u1',
        fixedVersion: '7.74.0-1.3+deb11u3',
        publishedDate: '2021-09-23T13:15:00Z',
        lastModifiedDate: '2022-04-01T00:00:00Z',
        severity: 'HIGH',
        title: 'CVE-1 title',
        score: 7.5,
        target: '',
        class: 'os-pkgs',
        packageType: 'debian',
        packagePath: '',
      },
    ]);
    const s = detail(
      'ExposedSecretReport',
      {},
      {
        secrets: [
          {
            target: '/app/.env',
            ruleID: 'aws-access-key-id',
            title: 'AWS',
            category: 'AWS',
            severity: 'CRITICAL',
            match: 'AKIA****',
          },
        ],
      },
    );
    expect(s?.secrets).toEqual([
      {
        category: 'AWS',
        ruleID: 'aws-access-key-id',
        target: '/app/.env',
        title: 'AWS',
        severity: 'CRITICAL',
      },
    ]);
    const c = detail(
      'ConfigAuditReport',
      {},
      {
        checks: [
          {
            checkID: 'KSV001',
            title: 't',
            description: 'd',
            category: 'Kubernetes Security Check',
            severity: 'MEDIUM',
            success: false,
            messages: ['m'],
          },
          { checkID: 'KSV001', title: 'again', severity: 'LOW', success: true },
        ],
      },
    );
    // The first check of an ID, as trivy-operator's collector takes it.
    expect(c?.checks).toEqual([
      {
        checkID: 'KSV001',
        title: 't',
        description: 'd',
        category: 'Kubernetes Security Check',
        severity: 'MEDIUM',
        success: false,
      },
    ]);
    // The assessments' checks the same way, and shared with an equal config audit's.
    const rbac = detail(
      'RbacAssessmentReport',
      {},
      { checks: [{ checkID: 'KSV041', severity: 'CRITICAL' }] },
    );
    expect(rbac?.checks).toEqual([expect.objectContaining({ checkID: 'KSV041', severity: 'CRITICAL' })]);
    const infra = detail('InfraAssessmentReport', {}, { checks: [{ checkID: 'KCV0001', severity: 'LOW' }] });
    expect(infra?.checks?.[0]?.checkID).toBe('KCV0001');
    expect(detail('ClusterRbacAssessmentReport', {}, { checks: [{ checkID: 'KSV041' }] })).toBeUndefined();
  });

  it('shares one copy of equal findings between reports, and drops repeats inside one', () => {
    const detail = reportDetailProjector(all);
    const a = detail(
      'VulnerabilityReport',
      {},
      { vulnerabilities: [vuln('CVE-1'), vuln('CVE-2'), vuln('CVE-1')] },
    );
    const b = detail('VulnerabilityReport', {}, { vulnerabilities: [vuln('CVE-1'), vuln('CVE-2')] });
    const c = detail('VulnerabilityReport', {}, { vulnerabilities: [vuln('CVE-2')] });
    expect(a?.vulnerabilities).toHaveLength(2);
    expect(a?.vulnerabilities).toBe(b?.vulnerabilities);
    expect(c?.vulnerabilities?.[0]).toBe(a?.vulnerabilities?.[1]);
    // A field that differs makes another finding.
    const d = detail('VulnerabilityReport', {}, { vulnerabilities: [vuln('CVE-2', { score: undefined })] });
    expect(d?.vulnerabilities?.[0]).not.toBe(c?.vulnerabilities?.[0]);
    expect(d?.vulnerabilities?.[0]?.score).toBeUndefined();
  });

  it('never throws on odd content, and keeps nothing it was not asked for', () => {
    const detail = reportDetailProjector(all);
    const odd = detail(
      'VulnerabilityReport',
      {},
      {
        os: 'debian',
        vulnerabilities: [null, 3, { vulnerabilityID: 7, score: 'high', severity: ['x'] }],
      },
    );
    expect(odd?.os).toBeUndefined();
    expect(odd?.vulnerabilities).toEqual([
      expect.objectContaining({ vulnerabilityID: '', score: undefined, severity: '' }),
    ]);
    expect(detail('ConfigAuditReport', {}, { checks: 'none' })?.checks).toEqual([]);
    const none = reportDetailProjector({ vulnerabilities: true, checks: ['ConfigAuditReport'] });
    expect(none('RbacAssessmentReport', { team: 'a' }, { checks: [{ checkID: 'KSV041' }] })).toBeUndefined();
    expect(none('ExposedSecretReport', {}, { secrets: [{ ruleID: 'x' }] })).toBeUndefined();
    expect(none('VulnerabilityReport', {}, undefined)).toBeUndefined();
  });

  it('reaches ReportRef through the report projector', () => {
    const ref = reportProjector(
      'ExposedSecretReport',
      reportDetailProjector({ labels: ['team'], secrets: true }),
    )(object('r', { team: 'a' }, { secrets: [] }) as never);
    expect(ref?.detail).toEqual({ labels: { team: 'a' }, secrets: [] });
    expect(
      reportProjector('ExposedSecretReport')(object('r', { team: 'a' }, {}) as never)?.detail,
    ).toBeUndefined();
  });
});
