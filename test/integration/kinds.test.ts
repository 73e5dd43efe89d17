import { computeHash, REPORT_RESOURCES, REPORT_SCHEMAS, type ReportKind } from '@fleetscan/reports';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ApiResponse, clusterOf, rawApi } from '../support/deploy-kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// Every kind trivy-operator audits besides workloads, on the real stack: each object's report is
// written by the writer, owned by the object, named and labelled as trivy-operator names and labels
// it, valid for our CRD; changing the object refreshes its report; deleting it lets the real
// garbage collector (kube-controller-manager) take the report. Control-plane components run as
// static-pod-like Pods in kube-system (owned by a Node object, as mirror Pods are) and get
// InfraAssessmentReports of trivy's KCV checks.

const stack = inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `kinds-${run}`;
const node = `kinds-${run}-node`;
const { cluster, adminToken } = clusterOf(stack.kubeconfigPath);
const admin = rawApi(cluster, adminToken);
let svc: Services;

const EVERY_KIND = [
  'Workload',
  'Service',
  'ConfigMap',
  'Role',
  'RoleBinding',
  'NetworkPolicy',
  'Ingress',
  'ResourceQuota',
  'LimitRange',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
].join(',');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Report {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
  };
  report: { checks: { checkID: string; success: boolean }[]; summary: Record<string, number> } & Record<
    string,
    unknown
  >;
}

const expectStatus = (r: ApiResponse, ok: number[], what: string) =>
  expect(ok, `${what}: ${r.status} ${r.text.slice(0, 300)}`).toContain(r.status);

function pathOf(o: Pick<Obj, 'apiVersion' | 'metadata'>, plural: string): string {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const nsPart = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${nsPart}/${plural}`;
}

async function create(o: Obj, plural: string): Promise<Obj> {
  const r = await admin.call('POST', pathOf(o, plural), o);
  expectStatus(r, [201], `create ${o.kind} ${o.metadata.name}`);
  return r.json() as unknown as Obj;
}

async function replace(o: Obj, plural: string, change: (cur: Obj) => void): Promise<void> {
  const path = `${pathOf(o, plural)}/${o.metadata.name}`;
  const cur = (await admin.call('GET', path)).json() as unknown as Obj;
  change(cur);
  expectStatus(await admin.call('PUT', path, cur), [200], `update ${o.kind} ${o.metadata.name}`);
}

async function remove(o: Obj, plural: string): Promise<void> {
  const r = await admin.call('DELETE', `${pathOf(o, plural)}/${o.metadata.name}`);
  expectStatus(r, [200, 202, 404], `delete ${o.kind} ${o.metadata.name}`);
}

function reportPath(kind: ReportKind, namespace: string, name: string): string {
  const plural = REPORT_RESOURCES[kind].plural;
  return namespace
    ? `/apis/aquasecurity.github.io/v1alpha1/namespaces/${namespace}/${plural}/${name}`
    : `/apis/aquasecurity.github.io/v1alpha1/${plural}/${name}`;
}

async function getReport(kind: ReportKind, namespace: string, name: string): Promise<Report | undefined> {
  const r = await admin.call('GET', reportPath(kind, namespace, name));
  if (r.status === 404) return undefined;
  expectStatus(r, [200], `get ${kind} ${name}`);
  return r.json() as unknown as Report;
}

const waitReport = (kind: ReportKind, namespace: string, name: string, accept = (_r: Report) => true) =>
  waitFor(
    `${kind} ${namespace}/${name}`,
    async () => {
      const r = await getReport(kind, namespace, name);
      return r && accept(r) ? r : undefined;
    },
    120_000,
  );

/** The report as trivy-operator would have it: owned by the object, its labels, valid for the CRD. */
function expectReportOf(r: Report, kind: ReportKind, owner: Obj) {
  expect(r.kind).toBe(kind);
  expect(r.metadata.ownerReferences).toEqual([
    {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: false,
    },
  ]);
  expect(r.metadata.labels).toMatchObject({
    'trivy-operator.resource.kind': owner.kind,
    'trivy-operator.resource.namespace': owner.metadata.namespace ?? '',
    'app.kubernetes.io/managed-by': 'fleetscan',
  });
  expect(r.metadata.labels['resource-spec-hash']).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  expect(r.metadata.labels['plugin-config-hash']).toBeTruthy();
  const name = owner.metadata.name;
  if (/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name))
    expect(r.metadata.labels['trivy-operator.resource.name']).toBe(name);
  else expect(r.metadata.labels['trivy-operator.resource.name-hash']).toBe(computeHash(name));
  expect(r.metadata.namespace).toBe(owner.metadata.namespace);
  // The zod schema crd.test.ts proves equal to deploy/crds, field by field.
  expect(() => REPORT_SCHEMAS[kind].parse(r)).not.toThrow();
}

const ids = (r: Report) => r.report.checks.map((c) => c.checkID);
/**
 * Whether the report has the check, whatever form its ID is written in (KSV108, KSV0108, KSV-0108,
 * AVD-KSV-0108: how fleetscan derives the short form is being changed elsewhere, issue 11 §7).
 */
const has = (r: Report, id: string) => {
  const [, prefix, n] = /^([A-Z]+)(\d+)$/.exec(id) ?? [];
  const re = new RegExp(`^(AVD-)?${prefix}-?0*${Number(n)}$`);
  return ids(r).some((c) => re.test(c));
};

// ---------------------------------------------------------------------------------------------
// The objects

const m = (name: string, namespace?: string) => ({ name, ...(namespace && { namespace }) });
const objects = {
  service: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: m('web', ns),
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80 }], externalIPs: ['192.0.2.10'] },
  },
  configMap: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: m('app-config', ns),
    data: { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', password: 'hunter2' },
  },
  // 600 kB of quotes is 1.2 MB as JSON: more than NATS carries in a message (max_payload 1 MiB),
  // so its manifest can only reach the scanner through the object store.
  bigConfigMap: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: m('big', ns),
    data: { 'quotes.txt': '"'.repeat(600_000), password: 'hunter2' },
  },
  role: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: m('deployer', ns),
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  },
  roleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: m('anonymous', ns),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
    subjects: [{ kind: 'Group', name: 'system:unauthenticated', apiGroup: 'rbac.authorization.k8s.io' }],
  },
  networkPolicy: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: m('allow-all', ns),
    spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] },
  },
  ingress: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: m('web', ns),
    spec: {
      rules: [
        {
          host: 'shop.example',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  },
  resourceQuota: {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: m('quota', ns),
    spec: { hard: { pods: '10' } },
  },
  limitRange: {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: m('limits', ns),
    spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] },
  },
  pvc: {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: m('data', ns),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  },
  clusterRole: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: m(`${ns}:secret-reader`),
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
  },
  clusterRoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: m(`${ns}-anonymous-admin`),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'Group', name: 'system:unauthenticated', apiGroup: 'rbac.authorization.k8s.io' }],
  },
  crd: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: m(`widgets.${run}.example.com`),
    spec: {
      group: `${run}.example.com`,
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  },
  pv: {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: m(`${ns}-host`),
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/etc' } },
  },
} satisfies Record<string, Obj>;

const plural: Record<string, string> = {
  Service: 'services',
  ConfigMap: 'configmaps',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  NetworkPolicy: 'networkpolicies',
  Ingress: 'ingresses',
  ResourceQuota: 'resourcequotas',
  LimitRange: 'limitranges',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  CustomResourceDefinition: 'customresourcedefinitions',
  PersistentVolume: 'persistentvolumes',
  Pod: 'pods',
  Node: 'nodes',
};

/** Static-pod-like control plane: Pods in kube-system owned by their Node, as kubelet mirror Pods are. */
const controlPlanePod = (component: string, command: string[], nodeUid: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `${component}-${node}`,
    namespace: 'kube-system',
    labels: { component, tier: 'control-plane' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid, controller: true }],
  } as Obj['metadata'],
  spec: {
    nodeName: node,
    // The stack's own registry (no traffic leaves the machine), and excluded from image scans below.
    containers: [{ name: component, image: `${stack.registry.host}/control-plane/${component}:v1`, command }],
  },
});

const created = new Map<string, Obj>();
let apiserverPod: Obj;
let etcdPod: Obj;
let nodeObj: Obj;

beforeAll(async () => {
  expectStatus(
    await admin.call('POST', '/api/v1/namespaces', { metadata: { name: ns } }),
    [201],
    'namespace',
  );
  nodeObj = await create({ apiVersion: 'v1', kind: 'Node', metadata: m(node) }, 'nodes');
  apiserverPod = await create(
    controlPlanePod(
      'kube-apiserver',
      ['kube-apiserver', '--anonymous-auth=true', '--authorization-mode=AlwaysAllow', '--profiling=true'],
      nodeObj.metadata.uid ?? '',
    ),
    'pods',
  );
  etcdPod = await create(
    controlPlanePod('etcd', ['etcd', '--client-cert-auth=false'], nodeObj.metadata.uid ?? ''),
    'pods',
  );
  for (const [key, o] of Object.entries(objects)) created.set(key, await create(o, plural[o.kind] ?? ''));
  svc = await startServices(stack, `kinds-${run}`, {
    watcher: {
      SUPPORTED_CONFIG_AUDIT_KINDS: EVERY_KIND,
      NAMESPACES_INCLUDE: `${ns},kube-system`,
      // The bootstrap ClusterRoles and bindings (~120 objects) are not this test's.
      SKIP_LABELS: 'kubernetes.io/bootstrapping',
      EXCLUDE_IMAGES: '*/control-plane/*',
    },
    writer: { SUPPORTED_CONFIG_AUDIT_KINDS: EVERY_KIND },
  });
});

afterAll(async () => {
  await svc?.stop();
  // The stack runs no pv-protection controllers: without their finalizers the volumes can go.
  for (const key of ['pv', 'pvc'] as const) {
    const o = created.get(key);
    if (o)
      await admin
        .call(
          'PATCH',
          `${pathOf(o, plural[o.kind] ?? '')}/${o.metadata.name}`,
          { metadata: { finalizers: null } },
          'application/merge-patch+json',
        )
        .catch(() => {});
  }
  for (const [key, o] of created) {
    if (!o.metadata.namespace) await remove(o, plural[o.kind] ?? '').catch(() => {});
    created.delete(key);
  }
  for (const p of [apiserverPod, etcdPod]) if (p) await remove(p, 'pods').catch(() => {});
  if (nodeObj) await remove(nodeObj, 'nodes').catch(() => {});
  await admin.call('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
});

const obj = (key: keyof typeof objects): Obj => {
  const o = created.get(key);
  if (!o) throw new Error(`${key} was not created`);
  return o;
};

describe('every kind gets its audit report, as trivy-operator writes it', () => {
  it('namespaced kinds: a ConfigAuditReport named <kind>-<name>, owned by the object', async () => {
    const cases: [keyof typeof objects, string, string[]][] = [
      ['service', 'service-web', ['KSV0108']],
      // ConfigMap checks read the data: the watcher read it again for the audit.
      ['configMap', 'configmap-app-config', ['KSV01010', 'KSV0109']],
      ['bigConfigMap', 'configmap-big', ['KSV0109']],
      ['roleBinding', 'rolebinding-anonymous', ['KSV122']],
      ['networkPolicy', 'networkpolicy-allow-all', []],
      ['ingress', 'ingress-web', []],
      ['resourceQuota', 'resourcequota-quota', []],
      ['limitRange', 'limitrange-limits', []],
      ['pvc', 'persistentvolumeclaim-data', []],
    ];
    for (const [key, name, expected] of cases) {
      const r = await waitReport('ConfigAuditReport', ns, name);
      expectReportOf(r, 'ConfigAuditReport', obj(key));
      for (const id of expected) expect(has(r, id), `${name} has ${id}: ${ids(r)}`).toBe(true);
      expect(typeof r.report.updateTimestamp).toBe('string');
    }
  });

  it('a Role gets a RbacAssessmentReport with the RBAC checks, not a config audit', async () => {
    const r = await waitReport('RbacAssessmentReport', ns, 'role-deployer');
    expectReportOf(r, 'RbacAssessmentReport', obj('role'));
    expect(has(r, 'KSV044') && has(r, 'KSV112'), String(ids(r))).toBe(true);
    expect(r.report.summary.criticalCount).toBeGreaterThan(0);
    // No updateTimestamp in this CRD: the scan time is in fleetscan's annotation.
    expect(r.report).not.toHaveProperty('updateTimestamp');
    expect(Date.parse(r.metadata.annotations?.['fleetscan.io/updated-at'] ?? '')).toBeGreaterThan(0);
    expect(await getReport('ConfigAuditReport', ns, 'role-deployer')).toBeUndefined();
  });

  it('cluster-scoped kinds get Cluster reports with no namespace and no TTL', async () => {
    const role = obj('clusterRole');
    // ':' is not a DNS-1123 label character: the name is hashed, as trivy-operator does.
    const roleReport = await waitReport(
      'ClusterRbacAssessmentReport',
      '',
      `clusterrole-${computeHash(role.metadata.name)}`,
    );
    expectReportOf(roleReport, 'ClusterRbacAssessmentReport', role);
    expect(has(roleReport, 'KSV041'), String(ids(roleReport))).toBe(true);
    expect(
      roleReport.metadata.annotations?.['trivy-operator.aquasecurity.github.io/report-ttl'],
    ).toBeUndefined();
    // Not a label value either: the full name is kept in the annotation.
    expect(roleReport.metadata.annotations?.['trivy-operator.resource.name']).toBe(role.metadata.name);

    const binding = await waitReport(
      'ClusterConfigAuditReport',
      '',
      `clusterrolebinding-${obj('clusterRoleBinding').metadata.name}`,
    );
    expectReportOf(binding, 'ClusterConfigAuditReport', obj('clusterRoleBinding'));
    expect(has(binding, 'KSV111'), String(ids(binding))).toBe(true);

    const crd = obj('crd');
    const crdReport = await waitReport(
      'ClusterConfigAuditReport',
      '',
      `customresourcedefinition-${computeHash(crd.metadata.name)}`,
    );
    expectReportOf(crdReport, 'ClusterConfigAuditReport', crd);

    const pv = await waitReport(
      'ClusterConfigAuditReport',
      '',
      `persistentvolume-${obj('pv').metadata.name}`,
    );
    expectReportOf(pv, 'ClusterConfigAuditReport', obj('pv'));
  });

  it('control-plane Pods in kube-system get InfraAssessmentReports of the KCV checks', async () => {
    const name = `pod-kube-apiserver-${node}`;
    const infra = await waitReport('InfraAssessmentReport', 'kube-system', name);
    expectReportOf(infra, 'InfraAssessmentReport', apiserverPod);
    // --anonymous-auth=true, --authorization-mode=AlwaysAllow, --profiling=true
    for (const id of ['KCV0001', 'KCV0007', 'KCV0018']) expect(has(infra, id), String(ids(infra))).toBe(true);
    expect(Object.values(infra.report.summary).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    expect(ids(infra).every((id) => /^(AVD-)?KCV/.test(id))).toBe(true);
    const audit = await waitReport('ConfigAuditReport', 'kube-system', name);
    expect(ids(audit).some((id) => /^(AVD-)?KCV/.test(id))).toBe(false);
    expect(ids(audit).length).toBeGreaterThan(0);

    const etcd = await waitReport('InfraAssessmentReport', 'kube-system', `pod-etcd-${node}`);
    expectReportOf(etcd, 'InfraAssessmentReport', etcdPod);
    // --client-cert-auth=false
    expect(has(etcd, 'KCV0043'), String(ids(etcd))).toBe(true);
  });

  it("serves trivy-operator's assessment metric families from the reports", async () => {
    await waitReport('RbacAssessmentReport', ns, 'role-deployer');
    const registry = svc.writer.registry;
    await waitFor('the metrics to show the reports', async () =>
      (await metricValue(registry, 'trivy_role_rbacassessments', { namespace: ns, name: 'role-deployer' })) >
      0
        ? true
        : undefined,
    );
    expect(
      await metricValue(registry, 'trivy_clusterrole_clusterrbacassessments', {
        resource_kind: 'ClusterRole',
        resource_name: obj('clusterRole').metadata.name,
        severity: 'Critical',
      }),
    ).toBeGreaterThan(0);
    expect(
      await metricValue(registry, 'trivy_resource_infraassessments', {
        namespace: 'kube-system',
        name: `pod-kube-apiserver-${node}`,
      }),
    ).toBeGreaterThan(0);
  });
});

describe('the report follows its object', () => {
  it('a change refreshes the report: a Role that loses its wildcard loses the findings', async () => {
    const before = await waitReport('RbacAssessmentReport', ns, 'role-deployer');
    await replace(obj('role'), 'roles', (cur) => {
      cur.rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }];
    });
    const after = await waitReport(
      'RbacAssessmentReport',
      ns,
      'role-deployer',
      (r) => r.metadata.labels['resource-spec-hash'] !== before.metadata.labels['resource-spec-hash'],
    );
    expect(has(after, 'KSV044')).toBe(false);
  });

  it('a ConfigMap whose data changes is audited again from its new data', async () => {
    const before = await waitReport('ConfigAuditReport', ns, 'configmap-app-config');
    await replace(obj('configMap'), 'configmaps', (cur) => {
      cur.data = { greeting: 'hello' };
    });
    const after = await waitReport(
      'ConfigAuditReport',
      ns,
      'configmap-app-config',
      (r) => r.metadata.labels['resource-spec-hash'] !== before.metadata.labels['resource-spec-hash'],
    );
    expect(has(after, 'KSV01010')).toBe(false);
  });

  it('deleting the object lets the garbage collector take its report, cluster-scoped too', async () => {
    await waitReport('ConfigAuditReport', ns, 'service-web');
    const bindingName = `clusterrolebinding-${obj('clusterRoleBinding').metadata.name}`;
    await waitReport('ClusterConfigAuditReport', '', bindingName);
    // The writer deletes the reports of an owner it sees go; paused, only the garbage collector can.
    await svc.restartWriter({
      pauseWhile: async () => {
        await remove(obj('service'), 'services');
        await remove(obj('clusterRoleBinding'), 'clusterrolebindings');
        await waitFor(
          'the garbage collector to delete both reports',
          async () =>
            !(await getReport('ConfigAuditReport', ns, 'service-web')) &&
            !(await getReport('ClusterConfigAuditReport', '', bindingName))
              ? true
              : undefined,
          120_000,
        );
      },
    });
    created.delete('clusterRoleBinding');
  });
});
