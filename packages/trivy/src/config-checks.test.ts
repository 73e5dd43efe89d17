import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAuditorLine } from './auditor-protocol.ts';
import { type ConfigFinding, checkIdOf, shortCheckId, toConfigChecks } from './config-checks.ts';

/**
 * Real findings: the audit worker's answer for testdata/parity/replicaset.yaml, deployment.yaml
 * and configmap.yaml (testdata/auditor-response.json, captured by scripts/capture-fixtures.ts).
 */
function captured(): {
  replicaset: ConfigFinding[];
  deployment: ConfigFinding[];
  configmap: ConfigFinding[];
} {
  const line = readFileSync(new URL('../testdata/auditor-response.json', import.meta.url), 'utf8').trim();
  const decoded = decodeAuditorLine(line);
  if (decoded.kind !== 'response' || !decoded.response.results) throw new Error('not a response');
  const [replicaset, deployment, configmap] = decoded.response.results.map((r) => r.findings);
  if (!replicaset || !deployment || !configmap) throw new Error('three results expected');
  return { replicaset, deployment, configmap };
}

describe('check IDs', () => {
  it('derives the short form from the rule ID: prefix and number, at least three digits', () => {
    expect(shortCheckId('KSV-0003')).toBe('KSV003');
    expect(shortCheckId('KSV-0110')).toBe('KSV110');
    expect(shortCheckId('KSV-0125')).toBe('KSV125');
    expect(shortCheckId('KSV-01010')).toBe('KSV1010');
    expect(shortCheckId('USR-0001')).toBeUndefined();
    expect(shortCheckId('my-custom-check')).toBeUndefined();
    expect(shortCheckId('N/A')).toBeUndefined();
  });

  it('gives, for the same rules, KSV003 by default and the first alias as trivy-operator v0.32 does', () => {
    const { replicaset, deployment, configmap } = captured();
    const rules = [...replicaset, ...deployment, ...configmap];
    const ids = (format?: 'short' | 'trivy-operator') => rules.map((f) => checkIdOf(f, format));
    expect(ids()).toEqual(expect.arrayContaining(['KSV003', 'KSV110', 'KSV125', 'KSV1010', 'KSV109']));
    expect(ids('trivy-operator')).toEqual(
      expect.arrayContaining([
        'AVD-KSV-0003',
        'AVD-KSV-0110',
        'AVD-KSV-0125',
        'AVD-KSV-01010',
        'AVD-KSV-0109',
      ]),
    );
    // Same rules, same order: only the names differ.
    expect(ids('trivy-operator').map((id) => shortCheckId(id.replace(/^AVD-/, '')))).toEqual(ids());
  });

  it("uses the rule's ID when it has no alias, in either form", () => {
    const custom = { id: 'USR-0001' };
    expect(checkIdOf(custom)).toBe('USR-0001');
    expect(checkIdOf(custom, 'trivy-operator')).toBe('USR-0001');
    expect(checkIdOf({ id: 'no-number' }, 'short')).toBe('no-number');
  });
});

describe('toConfigChecks', () => {
  it("maps a finding as trivy-operator's getCheck does", () => {
    const { replicaset } = captured();
    const checks = toConfigChecks(replicaset);
    expect(checks.find((c) => c.checkID === 'KSV003')).toEqual({
      checkID: 'KSV003',
      title: 'Default capabilities: some containers do not drop all',
      description: expect.stringMatching(/\S/),
      severity: 'LOW',
      category: 'Kubernetes Security Check',
      messages: [
        "Container 'nginx' of ReplicaSet 'naive-7c9f5d8b6d' should add 'ALL' to 'securityContext.capabilities.drop'",
      ],
      remediation: expect.stringMatching(/\S/),
      success: false,
    });
    expect(checks.every((c) => !c.success)).toBe(true);
  });

  it('keeps only the severities asked for', () => {
    const { replicaset } = captured();
    const all = toConfigChecks(replicaset);
    const high = toConfigChecks(replicaset, { severities: ['HIGH', 'CRITICAL'] });
    expect(high.length).toBeGreaterThan(0);
    expect(high).toEqual(all.filter((c) => c.severity === 'HIGH' || c.severity === 'CRITICAL'));
    expect(toConfigChecks(replicaset, { severities: [] })).toEqual(all);
  });

  it('drops a failure without a message and keeps a pass without one, without messages (as upstream)', () => {
    const base = { id: 'KSV-0001', title: 't', severity: 'MEDIUM' };
    expect(
      toConfigChecks([
        { ...base, status: 'FAIL', message: '' },
        { ...base, status: 'FAIL' },
        { ...base, status: 'PASS' },
      ]),
    ).toEqual([
      {
        checkID: 'KSV001',
        title: 't',
        severity: 'MEDIUM',
        category: 'Kubernetes Security Check',
        success: true,
      },
    ]);
  });

  it('keeps infra (KCV) checks for the infra report, leaves out excepted findings, and maps an unknown severity to UNKNOWN', () => {
    const findings: ConfigFinding[] = [
      { id: 'KCV-0001', aliases: ['AVD-KCV-0001'], severity: 'LOW', status: 'FAIL', message: 'm' },
      { id: 'KSV-0001', severity: 'LOW', status: 'EXCEPTION', message: 'm' },
      { id: 'USR-7', severity: 'BOGUS', status: 'FAIL', message: 'm' },
    ];
    expect(toConfigChecks(findings, { checkIds: 'trivy-operator' }).map((c) => c.checkID)).toEqual([
      'AVD-KCV-0001',
      'USR-7',
    ]);
    expect(toConfigChecks(findings)).toEqual([
      {
        checkID: 'KCV001',
        severity: 'LOW',
        category: 'Kubernetes Security Check',
        messages: ['m'],
        success: false,
      },
      {
        checkID: 'USR-7',
        severity: 'UNKNOWN',
        category: 'Kubernetes Security Check',
        messages: ['m'],
        success: false,
      },
    ]);
  });
});
