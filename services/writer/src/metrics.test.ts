import type { ReportRef } from '@fleetscan/inventory';
import type { OwnerReportKind } from '@fleetscan/reports';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type ReportMetricsOptions,
  registerReportMetrics,
  reportDetailFor,
  reportFamilies,
} from './metrics.ts';
import { renderMetrics } from './report-metrics/exposition.ts';

const vuln = (name: string, over: Partial<ReportRef> = {}): ReportRef => ({
  kind: 'VulnerabilityReport',
  namespace: 'ns',
  name,
  uid: name,
  container: 'app',
  resourceKind: 'ReplicaSet',
  resourceName: 'web',
  summary: { criticalCount: 2, highCount: 1, mediumCount: 0, lowCount: 0, unknownCount: 0 },
  artifact: { registry: 'r', repository: 'app', tag: '1', digest: 'sha256:x' },
  ...over,
});
const secret = (name: string, over: Partial<ReportRef> = {}): ReportRef => ({
  ...vuln(name),
  kind: 'ExposedSecretReport',
  summary: { criticalCount: 1, highCount: 0, mediumCount: 0, lowCount: 0 },
  ...over,
});
const audit = (name: string, over: Partial<ReportRef> = {}): ReportRef => ({
  kind: 'ConfigAuditReport',
  namespace: 'ns',
  name,
  uid: name,
  resourceKind: 'ReplicaSet',
  resourceName: 'web',
  summary: { criticalCount: 0, highCount: 3, mediumCount: 1, lowCount: 0 },
  ...over,
});

const assessment = (kind: OwnerReportKind, name: string, over: Partial<ReportRef> = {}): ReportRef => ({
  kind,
  namespace: kind === 'ClusterRbacAssessmentReport' ? '' : 'ns',
  name,
  uid: name,
  resourceKind: kind === 'ClusterRbacAssessmentReport' ? 'ClusterRole' : 'Role',
  resourceName: name,
  summary: { criticalCount: 2, highCount: 0, mediumCount: 0, lowCount: 9 },
  ...over,
});

const source = (reports: ReportRef[]) => ({
  reportsOf: (kind: OwnerReportKind) => reports.filter((r) => r.kind === kind),
});

const OFF: ReportMetricsOptions = {
  enabled: true,
  info: {},
  labelKeys: [],
  labelNames: [],
  maxInfoSeries: 1000,
};
const ALL_INFO: ReportMetricsOptions = {
  ...OFF,
  info: {
    vulnerabilityId: true,
    exposedSecretInfo: true,
    configAuditInfo: true,
    imageInfo: true,
    rbacAssessmentInfo: true,
    infraAssessmentInfo: true,
  },
};

/** Every sample of a metric in the exposition: its labels (in the order written) and value. */
async function samples(registry: Registry, name: string) {
  const text = await registry.metrics();
  const out: { labels: [string, string][]; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(
      (x) => [x[1] ?? '', x[2] ?? ''] as [string, string],
    );
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const names = (s: { labels: [string, string][] }) => s.labels.map(([k]) => k);
const asRecord = (s: { labels: [string, string][] }) => Object.fromEntries(s.labels);

// trivy-operator v0.32 pkg/metrics/collector.go, buildMetricDescriptors: each family's label names.
const IMAGE = [
  'namespace',
  'name',
  'resource_kind',
  'resource_name',
  'container_name',
  'image_registry',
  'image_repository',
  'image_tag',
  'image_digest',
];
const TRIVY_OPERATOR_LABELS: Record<string, string[]> = {
  trivy_image_vulnerabilities: [...IMAGE, 'severity'],
  trivy_vulnerability_id: [
    ...IMAGE,
    'installed_version',
    'fixed_version',
    'published_date',
    'last_modified_date',
    'resource',
    'severity',
    'package_type',
    'pkg_path',
    'target',
    'class',
    'vuln_id',
    'vuln_title',
    'vuln_score',
  ],
  trivy_image_exposedsecrets: [...IMAGE, 'severity'],
  trivy_exposedsecrets_info: [
    ...IMAGE,
    'secret_category',
    'secret_rule_id',
    'secret_target',
    'secret_title',
    'severity',
  ],
  trivy_resource_configaudits: ['namespace', 'name', 'resource_kind', 'resource_name', 'severity'],
  trivy_configaudits_info: [
    'namespace',
    'name',
    'resource_kind',
    'resource_name',
    'config_audit_id',
    'config_audit_title',
    'config_audit_description',
    'config_audit_category',
    'config_audit_success',
    'severity',
  ],
  trivy_image_info: [...IMAGE, 'image_os_family', 'image_os_name', 'image_os_eosl'],
  trivy_role_rbacassessments: ['namespace', 'name', 'resource_kind', 'resource_name', 'severity'],
  trivy_rbacassessments_info: [
    'namespace',
    'name',
    'resource_kind',
    'resource_name',
    'rbac_assessment_id',
    'rbac_assessment_title',
    'rbac_assessment_description',
    'rbac_assessment_category',
    'rbac_assessment_success',
    'severity',
  ],
  // rbacAssessmentLabels[1:]: no namespace.
  trivy_clusterrole_clusterrbacassessments: ['name', 'resource_kind', 'resource_name', 'severity'],
  trivy_resource_infraassessments: ['namespace', 'name', 'resource_kind', 'resource_name', 'severity'],
  trivy_infraassessments_info: [
    'namespace',
    'name',
    'resource_kind',
    'resource_name',
    'infra_assessment_id',
    'infra_assessment_title',
    'infra_assessment_description',
    'infra_assessment_category',
    'infra_assessment_success',
    'severity',
  ],
};

describe("trivy-operator's report metric families", () => {
  it('have its names, help texts and label names in its order', () => {
    const families = reportFamilies(source([]));
    expect(Object.fromEntries(families.map((f) => [f.name, [...f.labelNames]]))).toEqual(
      TRIVY_OPERATOR_LABELS,
    );
    expect(Object.fromEntries(families.map((f) => [f.name, f.help]))).toEqual({
      trivy_image_vulnerabilities: 'Number of container image vulnerabilities',
      trivy_vulnerability_id: 'Number of container image vulnerabilities group by vulnerability id',
      trivy_image_info: 'scanned container image information',
      trivy_image_exposedsecrets: 'Number of image exposed secrets',
      trivy_exposedsecrets_info: 'Number of container image exposed secrets group by secret rule id',
      trivy_resource_configaudits: 'Number of failing resource configuration auditing checks',
      trivy_configaudits_info: 'Number of failing resource configuration auditing checks Info',
      trivy_role_rbacassessments: 'Number of rbac risky role assessment checks',
      trivy_rbacassessments_info: 'Number of rbac risky role assessment checks Info',
      trivy_clusterrole_clusterrbacassessments: 'Number of rbac risky cluster role assessment checks',
      trivy_resource_infraassessments: 'Number of failing k8s infra assessment checks',
      trivy_infraassessments_info: 'Number of failing k8s infra assessment checks Info',
    });
    // The opt-in ones, by trivy-operator's option.
    expect(families.filter((f) => f.info).map((f) => [f.name, f.info])).toEqual([
      ['trivy_vulnerability_id', 'vulnerabilityId'],
      ['trivy_image_info', 'imageInfo'],
      ['trivy_exposedsecrets_info', 'exposedSecretInfo'],
      ['trivy_configaudits_info', 'configAuditInfo'],
      ['trivy_rbacassessments_info', 'rbacAssessmentInfo'],
      ['trivy_infraassessments_info', 'infraAssessmentInfo'],
    ]);
  });

  it('serve one series per report and severity for the summary families, Unknown only for vulnerabilities', async () => {
    const registry = new Registry();
    registerReportMetrics(
      registry,
      source([
        vuln('a'),
        vuln('b'),
        secret('a'),
        audit('c'),
        assessment('RbacAssessmentReport', 'role-deployer'),
        assessment('ClusterRbacAssessmentReport', 'clusterrole-wide'),
        assessment('InfraAssessmentReport', 'pod-etcd-n1', { namespace: 'kube-system', resourceKind: 'Pod' }),
      ]),
      OFF,
    );
    const v = await samples(registry, 'trivy_image_vulnerabilities');
    expect(v).toHaveLength(2 * 5);
    expect(v[0]?.labels).toEqual([
      ['namespace', 'ns'],
      ['name', 'a'],
      ['resource_kind', 'ReplicaSet'],
      ['resource_name', 'web'],
      ['container_name', 'app'],
      ['image_registry', 'r'],
      ['image_repository', 'app'],
      ['image_tag', '1'],
      ['image_digest', 'sha256:x'],
      ['severity', 'Critical'],
    ]);
    expect(v[0]?.value).toBe(2);
    const s = await samples(registry, 'trivy_image_exposedsecrets');
    expect(s.map((x) => asRecord(x).severity)).toEqual(['Critical', 'High', 'Medium', 'Low']);
    expect(s.map((x) => x.value)).toEqual([1, 0, 0, 0]);
    const c = await samples(registry, 'trivy_resource_configaudits');
    expect(c.map((x) => [asRecord(x).severity, x.value])).toEqual([
      ['Critical', 0],
      ['High', 3],
      ['Medium', 1],
      ['Low', 0],
    ]);
    // The assessments: no Unknown either, and a ClusterRole's without a namespace label.
    const role = await samples(registry, 'trivy_role_rbacassessments');
    expect(role.map((x) => [asRecord(x).severity, x.value])).toEqual([
      ['Critical', 2],
      ['High', 0],
      ['Medium', 0],
      ['Low', 9],
    ]);
    expect(role[0]?.labels).toEqual([
      ['namespace', 'ns'],
      ['name', 'role-deployer'],
      ['resource_kind', 'Role'],
      ['resource_name', 'role-deployer'],
      ['severity', 'Critical'],
    ]);
    const clusterRole = await samples(registry, 'trivy_clusterrole_clusterrbacassessments');
    expect(clusterRole).toHaveLength(4);
    expect(clusterRole[3]?.labels).toEqual([
      ['name', 'clusterrole-wide'],
      ['resource_kind', 'ClusterRole'],
      ['resource_name', 'clusterrole-wide'],
      ['severity', 'Low'],
    ]);
    expect(clusterRole[3]?.value).toBe(9);
    const infra = await samples(registry, 'trivy_resource_infraassessments');
    expect(
      infra.map((x) => [asRecord(x).namespace, asRecord(x).resource_kind, asRecord(x).severity]),
    ).toEqual([
      ['kube-system', 'Pod', 'Critical'],
      ['kube-system', 'Pod', 'High'],
      ['kube-system', 'Pod', 'Medium'],
      ['kube-system', 'Pod', 'Low'],
    ]);
    // Info families are off unless asked for (trivy-operator's defaults).
    for (const f of [
      'trivy_vulnerability_id',
      'trivy_image_info',
      'trivy_exposedsecrets_info',
      'trivy_configaudits_info',
      'trivy_rbacassessments_info',
      'trivy_infraassessments_info',
    ]) {
      expect(registry.getSingleMetric(f), f).toBeUndefined();
    }
  });

  it('append the report labels as k8s_label_* after their own, empty where a report lacks one', async () => {
    const registry = new Registry();
    const opts = {
      ...ALL_INFO,
      labelKeys: ['team', 'app.kubernetes.io/name'],
      labelNames: ['k8s_label_team', 'k8s_label_app_kubernetes_io_name'],
    };
    const labelled = { labels: { team: 'payments', 'app.kubernetes.io/name': 'web' } };
    registerReportMetrics(
      registry,
      source([
        vuln('a', { detail: { ...labelled, os: { family: 'debian', name: '11.2', eosl: false } } }),
        vuln('b'),
        audit('c', { detail: { labels: { team: 'ops' } } }),
        assessment('ClusterRbacAssessmentReport', 'clusterrole-wide', {
          detail: { labels: { team: 'sec' } },
        }),
      ]),
      opts,
    );
    const v = await samples(registry, 'trivy_image_vulnerabilities');
    expect(names(v[0] as never)).toEqual([
      ...IMAGE,
      'severity',
      'k8s_label_team',
      'k8s_label_app_kubernetes_io_name',
    ]);
    expect(asRecord(v[0] as never)).toMatchObject({
      k8s_label_team: 'payments',
      k8s_label_app_kubernetes_io_name: 'web',
    });
    expect(asRecord(v[5] as never)).toMatchObject({
      name: 'b',
      k8s_label_team: '',
      k8s_label_app_kubernetes_io_name: '',
    });
    const c = await samples(registry, 'trivy_resource_configaudits');
    expect(asRecord(c[0] as never)).toMatchObject({
      k8s_label_team: 'ops',
      k8s_label_app_kubernetes_io_name: '',
    });
    // The ClusterRole family's report labels follow its own four, as upstream's getDynamicConfigLabels.
    const cr = await samples(registry, 'trivy_clusterrole_clusterrbacassessments');
    expect(cr[0]?.labels).toEqual([
      ['name', 'clusterrole-wide'],
      ['resource_kind', 'ClusterRole'],
      ['resource_name', 'clusterrole-wide'],
      ['severity', 'Critical'],
      ['k8s_label_team', 'sec'],
      ['k8s_label_app_kubernetes_io_name', ''],
    ]);
    const info = await samples(registry, 'trivy_image_info');
    expect(names(info[0] as never)).toEqual([
      ...TRIVY_OPERATOR_LABELS.trivy_image_info!,
      'k8s_label_team',
      'k8s_label_app_kubernetes_io_name',
    ]);
  });

  it('serve a series per finding for the info families that are on, with the values trivy-operator writes', async () => {
    const registry = new Registry();
    const v = {
      vulnerabilityID: 'CVE-2021-22945',
      resource: 'curl',
      installedVersion: '7.74.0-1.3+deb11u1',
      fixedVersion: '7.74.0-1.3+deb11u3',
      publishedDate: '2021-09-23T13:15:00Z',
      lastModifiedDate: '',
      severity: 'CRITICAL',
      title: 'curl: UAF and double free in MQTT sending',
      score: 9.1,
      target: '',
      class: 'os-pkgs',
      packageType: 'debian',
      packagePath: '',
    };
    registerReportMetrics(
      registry,
      source([
        vuln('a', {
          detail: {
            os: { family: 'debian', name: '11.2', eosl: true },
            vulnerabilities: [
              v,
              { ...v, severity: 'High', score: undefined },
              { ...v, severity: 'HIGH', score: undefined },
            ],
          },
        }),
        vuln('b', { detail: { os: { family: 'alpine', name: '3.18.0', eosl: false } } }),
        secret('s', {
          detail: {
            secrets: [
              {
                category: 'AWS',
                ruleID: 'aws-access-key-id',
                target: '/root/.aws/credentials',
                title: 'AWS Access Key ID',
                severity: 'CRITICAL',
              },
            ],
          },
        }),
        audit('c', {
          detail: {
            checks: [
              {
                checkID: 'KSV001',
                title: 'Process can elevate its own privileges',
                description: 'd "quoted"\nline',
                category: 'Kubernetes Security Check',
                severity: 'MEDIUM',
                success: false,
              },
              {
                checkID: 'KSV003',
                title: 't',
                description: '',
                category: '',
                severity: 'LOW',
                success: true,
              },
            ],
          },
        }),
        assessment('RbacAssessmentReport', 'role-deployer', {
          detail: {
            checks: [
              {
                checkID: 'KSV041',
                title: 'Manage secrets',
                description: 'Viewing secrets at the cluster-scope is akin to cluster-admin',
                category: 'Kubernetes Security Check',
                severity: 'CRITICAL',
                success: false,
              },
            ],
          },
        }),
        // A ClusterRole's checks: no info series, as upstream (RbacAssessmentReports only).
        assessment('ClusterRbacAssessmentReport', 'clusterrole-wide', {
          detail: {
            checks: [
              {
                checkID: 'KSV041',
                title: 'Manage secrets',
                description: '',
                category: '',
                severity: 'CRITICAL',
                success: false,
              },
            ],
          },
        }),
        assessment('InfraAssessmentReport', 'pod-etcd-n1', {
          namespace: 'kube-system',
          resourceKind: 'Pod',
          detail: {
            checks: [
              {
                checkID: 'KCV0042',
                title: 'Ensure that the --cert-file and --key-file arguments are set as appropriate',
                description: 'Configure TLS encryption for the etcd service.',
                category: 'Kubernetes Security Check',
                severity: 'LOW',
                success: false,
              },
            ],
          },
        }),
      ]),
      ALL_INFO,
    );
    const rbac = await samples(registry, 'trivy_rbacassessments_info');
    expect(rbac.map((x) => x.labels)).toEqual([
      [
        ['namespace', 'ns'],
        ['name', 'role-deployer'],
        ['resource_kind', 'Role'],
        ['resource_name', 'role-deployer'],
        ['rbac_assessment_id', 'KSV041'],
        ['rbac_assessment_title', 'Manage secrets'],
        ['rbac_assessment_description', 'Viewing secrets at the cluster-scope is akin to cluster-admin'],
        ['rbac_assessment_category', 'Kubernetes Security Check'],
        ['rbac_assessment_success', 'false'],
        ['severity', 'Critical'],
      ],
    ]);
    const infraChecks = await samples(registry, 'trivy_infraassessments_info');
    expect(infraChecks.map((x) => [x.labels.slice(0, 5), asRecord(x).severity, x.value])).toEqual([
      [
        [
          ['namespace', 'kube-system'],
          ['name', 'pod-etcd-n1'],
          ['resource_kind', 'Pod'],
          ['resource_name', 'pod-etcd-n1'],
          ['infra_assessment_id', 'KCV0042'],
        ],
        'Low',
        1,
      ],
    ]);
    const ids = await samples(registry, 'trivy_vulnerability_id');
    // HIGH and High spell the same labels: one series.
    expect(ids).toHaveLength(2);
    expect(ids[0]?.labels).toEqual([
      ['namespace', 'ns'],
      ['name', 'a'],
      ['resource_kind', 'ReplicaSet'],
      ['resource_name', 'web'],
      ['container_name', 'app'],
      ['image_registry', 'r'],
      ['image_repository', 'app'],
      ['image_tag', '1'],
      ['image_digest', 'sha256:x'],
      ['installed_version', '7.74.0-1.3+deb11u1'],
      ['fixed_version', '7.74.0-1.3+deb11u3'],
      ['published_date', '2021-09-23T13:15:00Z'],
      ['last_modified_date', ''],
      ['resource', 'curl'],
      ['severity', 'Critical'],
      ['package_type', 'debian'],
      ['pkg_path', ''],
      ['target', ''],
      ['class', 'os-pkgs'],
      ['vuln_id', 'CVE-2021-22945'],
      ['vuln_title', 'curl: UAF and double free in MQTT sending'],
      ['vuln_score', '9.1'],
    ]);
    expect(ids.map((x) => x.value)).toEqual([1, 1]);
    expect(asRecord(ids[1] as never)).toMatchObject({ severity: 'High', vuln_score: '' });
    const images = await samples(registry, 'trivy_image_info');
    expect(
      images.map((x) => [asRecord(x).image_os_family, asRecord(x).image_os_name, asRecord(x).image_os_eosl]),
    ).toEqual([
      ['debian', '11.2', 'true'],
      // trivy-operator writes eosl only when it is true.
      ['alpine', '3.18.0', ''],
    ]);
    const secrets = await samples(registry, 'trivy_exposedsecrets_info');
    expect(asRecord(secrets[0] as never)).toMatchObject({
      secret_category: 'AWS',
      secret_rule_id: 'aws-access-key-id',
      secret_target: '/root/.aws/credentials',
      secret_title: 'AWS Access Key ID',
      severity: 'Critical',
    });
    const checks = await samples(registry, 'trivy_configaudits_info');
    expect(
      checks.map((x) => [
        asRecord(x).config_audit_id,
        asRecord(x).config_audit_success,
        asRecord(x).severity,
      ]),
    ).toEqual([
      ['KSV001', 'false', 'Medium'],
      ['KSV003', 'true', 'Low'],
    ]);
    // Label values are escaped as the text format requires.
    expect(asRecord(checks[0] as never).config_audit_description).toBe('d \\"quoted\\"\\nline');
  });

  it('bound each info family to METRICS_INFO_MAX_SERIES and say how many series were left out', async () => {
    const registry = new Registry();
    const many = Array.from({ length: 5 }, (_, i) => ({
      vulnerabilityID: `CVE-${i}`,
      resource: 'p',
      installedVersion: '1',
      fixedVersion: '',
      publishedDate: '',
      lastModifiedDate: '',
      severity: 'LOW',
      title: '',
      score: undefined,
      target: '',
      class: '',
      packageType: '',
      packagePath: '',
    }));
    const reports = [
      vuln('a', { detail: { vulnerabilities: many } }),
      vuln('b', { detail: { vulnerabilities: many } }),
    ];
    registerReportMetrics(registry, source(reports), { ...ALL_INFO, maxInfoSeries: 3 });
    expect(await samples(registry, 'trivy_vulnerability_id')).toHaveLength(3);
    const served = await samples(registry, 'fleetscan_writer_report_metric_series');
    const dropped = await samples(registry, 'fleetscan_writer_report_metric_series_dropped');
    const byFamily = (s: typeof served) => Object.fromEntries(s.map((x) => [asRecord(x).family, x.value]));
    expect(byFamily(served)).toMatchObject({ trivy_vulnerability_id: 3, trivy_image_vulnerabilities: 10 });
    expect(byFamily(dropped)).toEqual({
      trivy_vulnerability_id: 7,
      trivy_image_info: 0,
      trivy_exposedsecrets_info: 0,
      trivy_configaudits_info: 0,
      trivy_rbacassessments_info: 0,
      trivy_infraassessments_info: 0,
    });
  });

  it('never fail a scrape, whatever the reports hold', async () => {
    const registry = new Registry();
    const odd = [
      vuln('weird', {
        summary: { criticalCount: Number.NaN, highCount: -1 },
        artifact: undefined,
        container: undefined,
      }),
      vuln('quotes"and\\nnewlines\n', { resourceName: '"\n\\' }),
      { kind: 'ConfigAuditReport', namespace: 'ns', name: 'c', uid: 'c' } as ReportRef,
    ];
    registerReportMetrics(registry, source(odd), ALL_INFO);
    await expect(registry.metrics()).resolves.toContain('trivy_image_vulnerabilities');

    const broken = new Registry();
    const errors: string[] = [];
    let calls = 0;
    registerReportMetrics(
      broken,
      {
        reportsOf: (kind) => {
          if (kind === 'ConfigAuditReport') throw new Error('inventory not ready');
          // A report whose summary throws when read: the family keeps what it had.
          calls++;
          const r = vuln(`r${calls}`);
          return [
            r,
            new Proxy(vuln('bad'), {
              get(t, p) {
                if (p === 'summary') throw new Error('boom');
                return t[p as keyof ReportRef];
              },
            }),
          ];
        },
      },
      OFF,
      (family) => errors.push(family),
    );
    const text = await broken.metrics();
    expect(text).toContain('# TYPE trivy_resource_configaudits gauge');
    expect(text).toMatch(/trivy_image_vulnerabilities\{[^}]*name="r\d"/);
    expect(errors).toContain('trivy_image_vulnerabilities');
  });

  it('serve nothing of trivy-operator when METRICS_FINDINGS_ENABLED is off', async () => {
    const registry = new Registry();
    registerReportMetrics(registry, source([vuln('a')]), { ...ALL_INFO, enabled: false });
    expect(await registry.metrics()).not.toMatch(/trivy_|report_metric/);
  });
});

describe('/metrics in chunks (renderMetrics)', () => {
  it("writes the same series as prom-client's registry.metrics(), in chunks of a few hundred", async () => {
    const many = Array.from({ length: 700 }, (_, i) =>
      vuln(`r${i}`, { detail: { labels: { team: `t"${i}\\` } } }),
    );
    const odd = vuln('quotes"and\\n\nnewlines', {
      resourceName: '"\n\\',
      detail: { os: { family: 'debian', name: 'a "b"\nc', eosl: true } },
    });
    const opts = { ...ALL_INFO, labelKeys: ['team'], labelNames: ['k8s_label_team'] };
    const build = () => {
      const registry = new Registry();
      // As the writer labels every series with its cluster; a family's own label stays its own.
      registry.setDefaultLabels({ cluster: 'east "1"', namespace: 'not-this' });
      registerReportMetrics(
        registry,
        source([...many, odd, audit('c'), assessment('ClusterRbacAssessmentReport', 'clusterrole-wide')]),
        opts,
      );
      return registry;
    };
    const chunks: string[] = [];
    for await (const c of renderMetrics(build())) chunks.push(c);
    const streamed = chunks.join('');
    const whole = await build().metrics();
    const lines = (t: string) =>
      t
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .sort();
    expect(lines(streamed)).toEqual(lines(whole));
    // trivy_image_vulnerabilities, trivy_image_info, trivy_resource_configaudits, then a served gauge per family (12) and a dropped one per info family (6).
    expect(lines(streamed).length).toBe(701 * 5 + 1 + 4 + 4 + 12 + 6);
    expect(streamed).toContain(
      'trivy_clusterrole_clusterrbacassessments{name="clusterrole-wide",resource_kind="ClusterRole",resource_name="clusterrole-wide",severity="Critical",k8s_label_team="",cluster="east \\"1\\"",namespace="not-this"} 2',
    );
    expect(streamed).toMatch(
      /trivy_image_vulnerabilities\{namespace="ns",name="r0",.*,cluster="east \\"1\\""\} 2/,
    );
    // trivy_image_vulnerabilities (3 505 series) came in chunks of at most 500 series.
    const family = chunks.filter((c) => c.includes('trivy_image_vulnerabilities{'));
    expect(family.length).toBeGreaterThanOrEqual(8);
    for (const c of family)
      expect(c.split('\n').filter((l) => l.startsWith('trivy_')).length).toBeLessThanOrEqual(500);
    // Each family is announced once, as the text format wants.
    expect(streamed.match(/^# TYPE trivy_image_vulnerabilities gauge$/gm)).toHaveLength(1);
  });
});

describe('reportDetailFor', () => {
  it('keeps of each report only what the families that are on read', () => {
    expect(reportDetailFor(OFF)).toEqual({
      labels: [],
      os: false,
      vulnerabilities: false,
      secrets: false,
      checks: [],
    });
    expect(
      reportDetailFor({ ...OFF, info: { vulnerabilityId: true, imageInfo: true }, labelKeys: ['team'] }),
    ).toEqual({
      labels: ['team'],
      os: true,
      vulnerabilities: true,
      secrets: false,
      checks: [],
    });
    // Checks only of the kinds whose info family is on.
    expect(
      reportDetailFor({ ...OFF, info: { rbacAssessmentInfo: true, infraAssessmentInfo: true } }).checks,
    ).toEqual(['RbacAssessmentReport', 'InfraAssessmentReport']);
    expect(reportDetailFor(ALL_INFO).checks).toEqual([
      'ConfigAuditReport',
      'RbacAssessmentReport',
      'InfraAssessmentReport',
    ]);
    expect(reportDetailFor({ ...ALL_INFO, enabled: false })).toEqual({});
  });
});
