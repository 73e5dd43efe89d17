import type { ConfigAuditData } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  ANNOTATION_REPORT_TTL,
  ANNOTATION_UPDATED_AT,
  REPORT_SCHEMAS,
  type ReportKind,
} from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { buildAuditReports } from './build-audit.ts';
import { kindsFor } from './reconcile.ts';

const settings = { ttlSeconds: 86400, maxReportBytes: 1_000_000 };
const check = (checkID: string, severity: 'CRITICAL' | 'HIGH' | 'LOW' = 'HIGH') => ({
  checkID,
  title: `title of ${checkID}`,
  severity,
  category: 'Kubernetes Security Check',
  messages: [`failed ${checkID}`],
  success: false,
});
const data = (checks: ReturnType<typeof check>[]): ConfigAuditData => ({
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  checks,
  scannedAt: '2026-11-26T10:00:00Z',
});
const owner = (kind: string, name: string, namespace: string, apiVersion = 'v1'): Owner =>
  ({
    kind,
    apiVersion,
    namespace,
    name,
    uid: `uid-${name}`,
    labels: { team: 'a' },
    specHash: 'spec1',
    containers: [],
  }) as Owner;

/** The report parses with its kind's zod schema, which crd.test.ts checks against deploy/crds. */
const valid = (kind: string, r: unknown) => REPORT_SCHEMAS[kind as ReportKind].parse(r);

describe('audit report builders', () => {
  it("writes a Role's checks into a RbacAssessmentReport: no updateTimestamp, the time in an annotation", () => {
    const role = owner('Role', 'deployer', 'shop', 'rbac.authorization.k8s.io/v1');
    const [r] = buildAuditReports(
      role,
      data([check('KSV044', 'CRITICAL'), check('KSV112')]),
      ['RbacAssessmentReport'],
      'plug1',
      settings,
    );
    expect(r?.kind).toBe('RbacAssessmentReport');
    const report = valid('RbacAssessmentReport', r?.report) as {
      metadata: Record<string, unknown> & {
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      report: Record<string, unknown>;
    };
    expect(report.metadata).toMatchObject({
      name: 'role-deployer',
      namespace: 'shop',
      ownerReferences: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          name: 'deployer',
          uid: 'uid-deployer',
          controller: true,
        },
      ],
    });
    expect(report.metadata.labels).toMatchObject({
      'trivy-operator.resource.kind': 'Role',
      'trivy-operator.resource.name': 'deployer',
      'trivy-operator.resource.namespace': 'shop',
      'resource-spec-hash': 'spec1',
      'plugin-config-hash': 'plug1',
    });
    expect(report.metadata.annotations[ANNOTATION_UPDATED_AT]).toBe('2026-11-26T10:00:00Z');
    expect(report.metadata.annotations[ANNOTATION_REPORT_TTL]).toBe('24h0m0s');
    expect(report.report).not.toHaveProperty('updateTimestamp');
    expect(report.report.summary).toEqual({ criticalCount: 1, highCount: 1, mediumCount: 0, lowCount: 0 });
  });

  it('writes cluster-scoped owners into Cluster kinds without namespace or TTL', () => {
    const wide = owner('ClusterRole', 'wide', '', 'rbac.authorization.k8s.io/v1');
    const [rbac] = buildAuditReports(
      wide,
      data([check('KSV041', 'CRITICAL')]),
      ['ClusterRbacAssessmentReport'],
      'p',
      settings,
    );
    const r = valid('ClusterRbacAssessmentReport', rbac?.report) as {
      metadata: { namespace?: string; annotations: Record<string, string>; labels: Record<string, string> };
    };
    expect(r.metadata.namespace).toBeUndefined();
    expect(r.metadata.annotations[ANNOTATION_REPORT_TTL]).toBeUndefined();
    expect(r.metadata.labels['trivy-operator.resource.namespace']).toBe('');

    const pv = owner('PersistentVolume', 'host-pv', '');
    const [audit] = buildAuditReports(
      pv,
      data([check('KSV039', 'LOW')]),
      ['ClusterConfigAuditReport'],
      'p',
      settings,
    );
    const c = valid('ClusterConfigAuditReport', audit?.report) as {
      metadata: { name: string; namespace?: string };
      report: { updateTimestamp: string };
    };
    expect(c.metadata).toMatchObject({ name: 'persistentvolume-host-pv' });
    expect(c.metadata.namespace).toBeUndefined();
    expect(c.report.updateTimestamp).toBe('2026-11-26T10:00:00Z');
  });

  it("splits a control-plane Pod's checks: KCV into its InfraAssessmentReport, the rest into its config audit", () => {
    const apiserver = owner('Pod', 'kube-apiserver-node1', 'kube-system');
    const reports = buildAuditReports(
      apiserver,
      data([check('KSV001'), check('KCV0001', 'CRITICAL'), check('KCV0005')]),
      ['ConfigAuditReport', 'InfraAssessmentReport'],
      'p',
      settings,
    );
    const byKind = Object.fromEntries(reports.map((r) => [r.kind, valid(r.kind, r.report)])) as Record<
      string,
      { metadata: { name: string }; report: { checks: { checkID: string }[]; summary: object } }
    >;
    expect(byKind.ConfigAuditReport?.report.checks.map((c) => c.checkID)).toEqual(['KSV001']);
    expect(byKind.InfraAssessmentReport?.report.checks.map((c) => c.checkID)).toEqual(['KCV0001', 'KCV0005']);
    expect(byKind.InfraAssessmentReport?.metadata.name).toBe('pod-kube-apiserver-node1');
    expect(byKind.InfraAssessmentReport?.report.summary).toEqual({
      criticalCount: 1,
      highCount: 1,
      mediumCount: 0,
      lowCount: 0,
    });
  });

  it('writes REPORT_RESOURCE_LABELS and REPORT_ADDITIONAL_LABELS on every audit report (the k8s_label_* metrics read them)', () => {
    const labelled = { ...settings, resourceLabels: ['team', 'absent'], additionalLabels: { env: 'prod' } };
    const pod = owner('Pod', 'etcd-n1', 'kube-system');
    const reports = [
      ...buildAuditReports(
        pod,
        data([check('KCV0001'), check('KSV001')]),
        ['ConfigAuditReport', 'InfraAssessmentReport'],
        'plug1',
        labelled,
      ),
      ...buildAuditReports(
        owner('Role', 'deployer', 'shop', 'rbac.authorization.k8s.io/v1'),
        data([check('KSV044')]),
        ['RbacAssessmentReport'],
        'plug1',
        labelled,
      ),
      ...buildAuditReports(
        owner('ClusterRole', 'wide', '', 'rbac.authorization.k8s.io/v1'),
        data([check('KSV044')]),
        ['ClusterRbacAssessmentReport'],
        'plug1',
        labelled,
      ),
    ];
    expect(reports.map((r) => r.kind)).toEqual([
      'ConfigAuditReport',
      'InfraAssessmentReport',
      'RbacAssessmentReport',
      'ClusterRbacAssessmentReport',
    ]);
    for (const r of reports) {
      const labels = (valid(r.kind, r.report) as { metadata: { labels: Record<string, string> } }).metadata
        .labels;
      expect(labels, r.kind).toMatchObject({ team: 'a', env: 'prod' });
      expect(labels, r.kind).not.toHaveProperty('absent');
    }
  });

  it('keeps a result to the report kinds its owner can have', () => {
    const service = owner('Service', 'web', 'shop');
    expect(kindsFor(service, undefined)).toEqual(['ConfigAuditReport']);
    expect(kindsFor(service, ['ClusterConfigAuditReport', 'ConfigAuditReport'])).toEqual([
      'ConfigAuditReport',
    ]);
    expect(kindsFor(owner('ClusterRole', 'x', ''), ['RbacAssessmentReport'])).toEqual([]);
    expect(
      kindsFor(owner('Pod', 'etcd-n1', 'kube-system'), ['ConfigAuditReport', 'InfraAssessmentReport']),
    ).toEqual(['ConfigAuditReport', 'InfraAssessmentReport']);
  });
});
