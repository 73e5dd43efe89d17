import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ComplianceReportSpec, normalizeCheckId } from './compliance.ts';
import {
  complianceStatus,
  createFailureIndex,
  indexFailures,
  type ReportChecks,
  specCheckIds,
} from './compliance-status.ts';
import type { Check } from './schemas.ts';
import { readSpecFile } from './testing/compliance-specs.ts';

const spec = (id: string, reportType: 'summary' | 'all' = 'all'): ComplianceReportSpec => ({
  cron: '0 */6 * * *',
  reportType,
  compliance: readSpecFile(id),
});

const check = (checkID: string, success: boolean, extra: Partial<Check> = {}): Check => ({
  checkID,
  severity: 'HIGH',
  category: 'Kubernetes Security Check',
  messages: success ? [] : [`${checkID} failed`],
  success,
  ...extra,
});

function evaluate(s: ComplianceReportSpec, reports: ReportChecks[], limit = 10) {
  const index = createFailureIndex(limit);
  const wanted = specCheckIds([s]);
  for (const r of reports) indexFailures(index, r, wanted);
  return complianceStatus(s, index, '2026-12-02T15:00:00Z');
}

describe('normalizeCheckId', () => {
  it('gives every form of one check the same id', () => {
    for (const id of ['KSV017', 'KSV-0017', 'AVD-KSV-0017', 'avd-ksv-0017', 'KSV0017', ' KSV17 '])
      expect(normalizeCheckId(id), id).toBe('KSV-17');
    expect(normalizeCheckId('KSV0125')).toBe(normalizeCheckId('KSV125'));
    expect(normalizeCheckId('KCV0048')).toBe(normalizeCheckId('KCV-0048'));
    expect(normalizeCheckId('KSV01010')).toBe('KSV-1010');
    expect(normalizeCheckId('my-custom.check')).toBe('MY-CUSTOM.CHECK');
  });
});

describe('complianceStatus: k8s-pss-baseline-0.1', () => {
  // A privileged container sharing the host PID namespace; a role with wildcard rights.
  const naive: ReportChecks = {
    kind: 'ConfigAuditReport',
    namespace: 'shop',
    name: 'replicaset-naive-5d8f',
    checks: [
      check('KSV017', false, {
        title: 'Privileged container',
        description: 'Privileged containers share namespaces with the host system.',
        remediation: 'Change securityContext.privileged to false.',
        scope: { type: 'Container', value: 'app' },
      }),
      check('KSV008', false, { title: 'Access to host IPC namespace' }),
      check('KSV023', true),
    ],
  };
  const hardened: ReportChecks = {
    kind: 'ConfigAuditReport',
    namespace: 'shop',
    name: 'replicaset-hardened-77f6',
    checks: [check('KSV017', true), check('KSV008', true), check('KSV023', true)],
  };

  it('a control fails when a report failed one of its checks, passes otherwise', () => {
    const { status } = evaluate(spec('k8s-pss-baseline-0.1'), [naive, hardened]);
    expect(status.summary).toEqual({ failCount: 2, passCount: 9 });
    const results = status.detailReport?.results ?? [];
    expect(results).toHaveLength(11);
    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get('3')).toEqual({
      id: '3',
      name: 'Privileged Containers',
      description: 'Privileged Pods disable most security mechanisms and must be disallowed.',
      severity: 'HIGH',
      checks: [
        {
          checkID: 'KSV017',
          target: 'shop/replicaset-naive-5d8f',
          title: 'Privileged container',
          description: 'Privileged containers share namespaces with the host system.',
          severity: 'HIGH',
          category: 'Kubernetes Security Check',
          messages: ['KSV017 failed'],
          remediation: 'Change securityContext.privileged to false.',
          success: false,
        },
      ],
    });
    expect(byId.get('2')?.checks.map((c) => c.checkID)).toEqual(['KSV008']);
    // A control nothing failed: upstream's one empty passed check.
    expect(byId.get('5')?.checks).toEqual([{ checkID: '', severity: '', success: true }]);
    expect(status.detailReport).toMatchObject({
      id: 'k8s-pss-baseline-0.1',
      title: 'Kubernetes Pod Security Standards - Baseline',
      version: '0.1',
      relatedVersion: ['https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline'],
    });
    expect(status.summaryReport).toBeUndefined();
    expect(status.updateTimestamp).toBe('2026-12-02T15:00:00Z');
  });

  it('passed checks never fail a control (upstream counts them when reports keep passed checks)', () => {
    const { status } = evaluate(spec('k8s-pss-baseline-0.1'), [hardened]);
    expect(status.summary).toEqual({ passCount: 11 });
  });

  it('summary form: failed checks counted per control', () => {
    const again = { ...naive, name: 'replicaset-naive2-1111' };
    const { status } = evaluate(spec('k8s-pss-baseline-0.1', 'summary'), [naive, again, hardened]);
    expect(status.detailReport).toBeUndefined();
    expect(status.summaryReport?.id).toBe('k8s-pss-baseline-0.1');
    const byId = new Map((status.summaryReport?.controlCheck ?? []).map((c) => [c.id, c]));
    expect(byId.get('3')).toEqual({ id: '3', name: 'Privileged Containers', severity: 'HIGH', totalFail: 2 });
    expect(byId.get('2')?.totalFail).toBe(2);
    expect(byId.get('1')?.totalFail).toBe(0);
  });

  it('matches the check whatever form the report writes its id in', () => {
    for (const id of ['KSV017', 'KSV-0017', 'AVD-KSV-0017']) {
      const { status } = evaluate(spec('k8s-pss-baseline-0.1'), [{ ...naive, checks: [check(id, false)] }]);
      expect(status.summary, id).toEqual({ failCount: 1, passCount: 10 });
    }
  });

  it('keeps at most failEntriesLimit failures per control in the detail report, and counts them all', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ ...naive, name: `replicaset-n${i}` }));
    const detail = evaluate(spec('k8s-pss-baseline-0.1'), many, 3).status.detailReport?.results ?? [];
    expect(detail.find((r) => r.id === '3')?.checks.map((c) => c.target)).toEqual([
      'shop/replicaset-n0',
      'shop/replicaset-n1',
      'shop/replicaset-n2',
    ]);
    const summary = evaluate(spec('k8s-pss-baseline-0.1', 'summary'), many, 3).status.summaryReport;
    expect(summary?.controlCheck?.find((c) => c.id === '3')?.totalFail).toBe(25);
  });

  it('reads RBAC and infra assessments and cluster reports too; a cluster report has target /<name>', () => {
    // CIS 5.1.2, "Minimize access to secrets": KSV041.
    const s = spec('k8s-cis-1.23');
    const { status } = evaluate(s, [
      {
        kind: 'ClusterRbacAssessmentReport',
        namespace: '',
        name: 'clusterrole-wide',
        checks: [check('KSV041', false)],
      },
    ]);
    const failing = (status.detailReport?.results ?? []).filter((r) => r.checks.some((c) => !c.success));
    expect(failing.map((r) => r.checks[0]?.target)).toEqual(failing.map(() => '/clusterrole-wide'));
    expect(failing.map((r) => r.id)).toEqual(['5.1.2']);
  });
});

describe('complianceStatus: k8s-cis-1.23 and node checks', () => {
  const cis = spec('k8s-cis-1.23', 'summary');
  const apiserver: ReportChecks = {
    kind: 'InfraAssessmentReport',
    namespace: 'kube-system',
    name: 'pod-kube-apiserver-node1',
    checks: [check('KCV0001', false, { title: 'Ensure that the --anonymous-auth argument is set to false' })],
  };

  it('node-only controls (they list node-collector commands) are named while no node report exists', () => {
    const { status, nodeControlsUnevaluated } = evaluate(cis, [apiserver]);
    expect(nodeControlsUnevaluated).toHaveLength(44);
    expect(nodeControlsUnevaluated).toContain('1.1.1');
    expect(nodeControlsUnevaluated).toContain('4.2.13');
    // They show as upstream shows them then: nothing failed.
    const c111 = status.summaryReport?.controlCheck?.find((c) => c.id === '1.1.1');
    expect(c111?.totalFail).toBe(0);
    expect(status.summary?.failCount).toBeGreaterThan(0);
  });

  it('a node report (the seam: ClusterInfraAssessmentReport) evaluates them', () => {
    const node: ReportChecks = {
      kind: 'ClusterInfraAssessmentReport',
      namespace: '',
      name: 'node-node1',
      checks: [check('KCV0048', false)],
    };
    const { status, nodeControlsUnevaluated } = evaluate(cis, [apiserver, node]);
    expect(nodeControlsUnevaluated).toEqual([]);
    expect(status.summaryReport?.controlCheck?.find((c) => c.id === '1.1.1')?.totalFail).toBe(1);
  });

  it('manual controls have no count, as trivy reports them', () => {
    const { status } = evaluate(cis, []);
    const manual = (status.summaryReport?.controlCheck ?? []).filter((c) => c.name?.includes('Manual'));
    expect(manual.length).toBeGreaterThan(0);
    for (const c of manual) expect(c).not.toHaveProperty('totalFail');
    expect(status.summary).toEqual({ passCount: cis.compliance.controls.length });
  });
});

describe('complianceStatus on reports captured from the real pipeline (testdata/compliance)', () => {
  const captured = (name: 'naive' | 'hardened'): ReportChecks => {
    const r = JSON.parse(
      readFileSync(new URL(`../testdata/compliance/configauditreport-${name}.json`, import.meta.url), 'utf8'),
    ) as { metadata: { namespace: string; name: string }; report: { checks: Check[] } };
    return {
      kind: 'ConfigAuditReport',
      namespace: r.metadata.namespace,
      name: r.metadata.name,
      checks: r.report.checks,
    };
  };
  const failing = (id: string, names: ('naive' | 'hardened')[]) => {
    const { status } = evaluate(spec(id, 'summary'), names.map(captured));
    return {
      summary: status.summary,
      controls: (status.summaryReport?.controlCheck ?? [])
        .filter((c) => (c.totalFail ?? 0) > 0)
        .map((c) => c.id),
    };
  };

  it('the naive Deployment (host namespaces, privileged) fails what each spec says about that', () => {
    // Baseline: host namespaces (KSV008, hostIPC), privileged (KSV017), seccomp unconfined (KSV104).
    expect(failing('k8s-pss-baseline-0.1', ['naive'])).toEqual({
      summary: { failCount: 3, passCount: 8 },
      controls: ['2', '3', '10'],
    });
    expect(failing('k8s-pss-restricted-0.1', ['naive']).controls).toEqual([
      '2',
      '3',
      '10',
      '13',
      '14',
      '16',
      '17',
    ]);
    expect(failing('k8s-nsa-1.0', ['naive']).controls).toEqual([
      '1.0',
      '1.1',
      '1.2',
      '1.3',
      '1.4',
      '1.5',
      '1.7',
      '1.9',
      '1.10',
    ]);
    expect(failing('k8s-cis-1.23', ['naive'])).toEqual({
      summary: { failCount: 10, passCount: 106 },
      controls: ['5.2.2', '5.2.3', '5.2.4', '5.2.5', '5.2.6', '5.2.7', '5.2.9', '5.2.10', '5.7.2', '5.7.3'],
    });
  });

  it('the hardened Deployment passes the Pod Security Standards and NSA; CIS 5.7.3 only (no runAsGroup, KSV021)', () => {
    expect(failing('k8s-pss-baseline-0.1', ['hardened']).summary).toEqual({ passCount: 11 });
    expect(failing('k8s-pss-restricted-0.1', ['hardened']).summary).toEqual({ passCount: 17 });
    expect(failing('k8s-nsa-1.0', ['hardened']).summary).toEqual({ passCount: 27 });
    expect(failing('k8s-cis-1.23', ['hardened']).controls).toEqual(['5.7.3']);
    expect(
      captured('hardened')
        .checks.filter((c) => !c.success)
        .map((c) => c.checkID),
    ).toContain('KSV021');
  });

  it('both together: the union, counted per report', () => {
    const { status } = evaluate(spec('k8s-cis-1.23', 'summary'), [captured('naive'), captured('hardened')]);
    // 5.7.3 maps to KSV021, KSV020, KSV005, KSV025, KSV104, KSV030: naive fails KSV020, KSV021, KSV030 and
    // KSV104, hardened KSV021.
    expect(status.summaryReport?.controlCheck?.find((c) => c.id === '5.7.3')?.totalFail).toBe(5);
  });
});
