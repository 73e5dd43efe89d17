import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig as fleetviewConfig, type RunningFleetview, startFleetview } from '@fleetscan/fleetview';
import { createLogger } from '@fleetscan/service';
import { natsEnv, type Prometheus, repoRoot, startPrometheus } from '@fleetscan/stack';
import { RbacAuthorizationV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Kube, kubeFor, listReports } from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// The trivy-operator Grafana dashboards 17813 and 17214 and fleetscan's own, evaluated through a real
// Prometheus (Debian's, .ci/versions.env) that scrapes watcher, writer, scanner and fleet view on loopback while
// they scan a small fleet: every panel must get data. The trivy-operator queries are test data
// (test/fixtures/dashboards, with where they were read); ours are deploy/dashboards/fleetscan.json.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const nsA = `dash-a-${run}`;
const nsB = `dash-b-${run}`;
/** A ClusterRole, and a fake node whose static-pod-like etcd in kube-system gets infra assessments. */
const clusterRole = `dash-${run}-wide`;
const node = `dash-${run}-node`;
const etcdPod = `etcd-${node}`;
/** The audited kinds of this test: workloads, and Roles and ClusterRoles for the RBAC assessments. */
const AUDIT_KINDS = 'Workload,Role,ClusterRole';
/** The namespace the fleetscan pods would run in: Prometheus gives their series this target label. */
const FLEETSCAN_NS = 'fleetscan';
const SCRAPE_SECONDS = 1;
/** Grafana's $__rate_interval for a 1 s scrape and a 2 s step: max(step + scrape, 4 × scrape). */
const RATE_INTERVAL = '4s';
const STEP_SECONDS = 2;

let k: Kube;
let svc: Services;
let prom: Prometheus;
let view: RunningFleetview | undefined;
let promDir = '';
let startedAt = 0;

interface Target {
  refId: string;
  expr: string;
  instant?: boolean;
}
interface Panel {
  row?: string;
  title: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  dashboard?: string;
  title?: string;
  panels: Panel[];
}

const readJson = <T>(...path: string[]) => JSON.parse(readFileSync(join(repoRoot, ...path), 'utf8')) as T;
const trivyOperator17813 = readJson<Dashboard>('test', 'fixtures', 'dashboards', 'trivy-operator-17813.json');
const trivyOperator17214 = readJson<Dashboard>('test', 'fixtures', 'dashboards', 'trivy-operator-17214.json');
const ours = readJson<Dashboard & { templating: { list: { name: string; query?: { query: string } }[] } }>(
  'deploy',
  'dashboards',
  'fleetscan.json',
);

/** Panels with queries, rows flattened (collapsed rows hold theirs inside). */
const panelsOf = (d: Dashboard): Panel[] =>
  d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => (p.targets ?? []).some((t) => t.expr));

/** A deployment whose pod template (and so its ReplicaSet) carries `labels`. */
function workload(name: string, image: string, labels: Record<string, string>): V1Deployment {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: {
          containers: [{ name: 'app', image, resources: { limits: { memory: '64Mi', cpu: '100m' } } }],
        },
      },
    },
  };
}

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  for (const name of [nsA, nsB]) await k.core.createNamespace({ body: { metadata: { name } } });
  svc = await startServices(stack(), `dash-${run}`, {
    watcher: {
      SCANNERS: 'vuln,secret',
      // kube-system for the control-plane pod's infra assessment; cluster-scoped ClusterRoles are
      // audited whatever the namespaces, but not the ~60 bootstrap ones (not this test's).
      NAMESPACES_INCLUDE: `${nsA},${nsB},kube-system`,
      SUPPORTED_CONFIG_AUDIT_KINDS: AUDIT_KINDS,
      SKIP_LABELS: 'kubernetes.io/bootstrapping',
      EXCLUDE_IMAGES: '*/control-plane/*',
      RESYNC_SECONDS: '1',
      REFRESH_INTERVAL_SECONDS: '0.5',
    },
    writer: {
      // Short, so the watcher refreshes reports and the scanner re-matches SBOMs during the test.
      REPORT_TTL: '15s',
      METRICS_VULN_ID_ENABLED: 'true',
      METRICS_IMAGE_INFO_ENABLED: 'true',
      METRICS_EXPOSED_SECRET_INFO_ENABLED: 'true',
      METRICS_CONFIG_AUDIT_INFO_ENABLED: 'true',
      METRICS_RBAC_ASSESSMENT_INFO_ENABLED: 'true',
      METRICS_INFRA_ASSESSMENT_INFO_ENABLED: 'true',
      SUPPORTED_CONFIG_AUDIT_KINDS: AUDIT_KINDS,
      REPORT_RESOURCE_LABELS: 'team',
      REPORT_ADDITIONAL_LABELS: 'env=test',
    },
  });
  // The fleet view, for its panels: reading the shared fleet stream with its own NATS identity.
  view = await startFleetview({
    config: fleetviewConfig({
      ...natsEnv(stack(), { role: 'fleetview' }),
      API_PORT: '0',
      METRICS_PORT: '0',
    }),
    logger: createLogger({ service: 'fleetview', level: 'silent' }),
  });
  promDir = await mkdtemp(join(stack().dir, 'prometheus-'));
  const pod = (name: string) => ({
    namespace: FLEETSCAN_NS,
    pod: `fleetscan-${name}`,
    service: `fleetscan-${name}-metrics`,
  });
  prom = await startPrometheus({
    bin: stack().prometheus.bin,
    dir: promDir,
    dieWithParent: true,
    scrapeIntervalSeconds: SCRAPE_SECONDS,
    // As the chart's ServiceMonitors: job per service, namespace and pod as target labels, and the
    // writer's honorLabels so the trivy_* series keep their report namespace.
    targets: [
      { job: 'watcher', address: `127.0.0.1:${svc.watcher.metricsPort}`, labels: pod('watcher-0') },
      {
        job: 'writer',
        address: `127.0.0.1:${svc.writer.metricsPort}`,
        labels: pod('writer-0'),
        honorLabels: true,
      },
      ...svc.scanners.map((s, i) => ({
        job: 'scanner',
        address: `127.0.0.1:${s.metricsPort}`,
        labels: pod(`scanner-${i}`),
      })),
      { job: 'fleetview', address: `127.0.0.1:${view.metricsPort}`, labels: pod('fleetview-0') },
    ],
  });
  startedAt = Date.now() / 1000;

  const nginx = `${stack().registry.host}/library/nginx:1.20`;
  const leaky = `${stack().registry.host}/library/secret:1.0`;
  const missing = `${stack().registry.host}/library/missing-${run}:1`;
  await k.apps.createNamespacedDeployment({
    namespace: nsA,
    body: workload('web', nginx, { team: 'payments' }),
  });
  await k.apps.createNamespacedDeployment({
    namespace: nsA,
    body: workload('leaky', leaky, { team: 'search' }),
  });
  await k.apps.createNamespacedDeployment({ namespace: nsA, body: workload('ghost', missing, {}) });
  // The same image in another namespace: its request is answered from the scanners' cache.
  await k.apps.createNamespacedDeployment({
    namespace: nsB,
    body: workload('web', nginx, { team: 'payments' }),
  });
  // A Role and a ClusterRole that may do anything with secrets, for the RBAC assessment families
  // (failing checks, so the info family's failing-check panel has rows).
  const rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
  const secretsAdmin = [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }];
  await rbac.createNamespacedRole({
    namespace: nsA,
    body: { metadata: { name: 'secrets-admin', labels: { team: 'payments' } }, rules: secretsAdmin },
  });
  await rbac.createClusterRole({
    body: { metadata: { name: clusterRole, labels: { team: 'payments' } }, rules: secretsAdmin },
  });
  // A static-pod-like etcd on a node object (as kubelet mirror pods are owned), for the infra
  // assessment families; it never runs (no kubelet) and its image is not scanned (EXCLUDE_IMAGES).
  const nodeObj = await k.core.createNode({ body: { metadata: { name: node } } });
  await k.core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: {
        name: etcdPod,
        labels: { component: 'etcd', tier: 'control-plane', team: 'platform' },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Node', name: node, uid: nodeObj.metadata?.uid ?? '', controller: true },
        ],
      },
      spec: {
        nodeName: node,
        containers: [
          {
            name: 'etcd',
            image: `${stack().registry.host}/control-plane/etcd:v1`,
            command: ['etcd', '--client-cert-auth=false'],
          },
        ],
      },
    },
  });

  const reports = async (kind: Parameters<typeof listReports>[1], ns: string, min: number) =>
    waitFor(
      `${min} ${kind} in ${ns}`,
      async () => {
        const list = await listReports(k, kind, ns);
        return list.length >= min ? list : undefined;
      },
      120_000,
    );
  await Promise.all([
    // web and leaky: ghost's image does not exist, so it gets a ScanFailed Event and no report.
    reports('VulnerabilityReport', nsA, 2),
    reports('VulnerabilityReport', nsB, 1),
    reports('ExposedSecretReport', nsA, 2),
    reports('ConfigAuditReport', nsA, 3),
    reports('ConfigAuditReport', nsB, 1),
  ]);
  const scanner = () => svc.scanners[0]?.registry ?? svc.writer.registry;
  await waitFor(
    'a failed scan, a cache hit and an SBOM re-match (TTL refresh)',
    async () => {
      const [failed, hits, rematches] = await Promise.all([
        metricValue(scanner(), 'fleetscan_scanner_failures_total', { type: 'image' }),
        metricValue(scanner(), 'fleetscan_scanner_cache_total', { result: 'hit' }),
        metricValue(scanner(), 'fleetscan_scanner_sbom_matches_total'),
      ]);
      return failed > 0 && hits > 0 && rematches > 0 ? true : undefined;
    },
    150_000,
  );
  // Every trivy_* family the writer serves has series of this test's objects in Prometheus, then a
  // few more scrapes so the rate windows cover what just happened.
  const served = servedFamilies();
  await waitFor(
    "Prometheus to hold every family the writer serves, of this test's objects",
    async () => {
      const have = await Promise.all(
        served.map(async (f) => (await prom.query(`count(${f}{${ofThisTest(f)}})`)).length > 0),
      );
      return have.every(Boolean) ? true : undefined;
    },
    150_000,
  );
  // Someone asks the fleet view, for its API panel.
  for (const path of ['/v1/clusters', '/v1/fix-first', '/v1/vulnerabilities/CVE-2021-22945/workloads']) {
    await fetch(`http://127.0.0.1:${view.apiPort}${path}`).then((r) => r.text());
  }
  await new Promise((r) => setTimeout(r, 6_000));
}, 420_000);

afterAll(async () => {
  await prom?.stop();
  await view?.stop();
  await svc?.stop();
  for (const name of [nsA, nsB]) await k.core.deleteNamespace({ name }).catch(() => {});
  // Cluster-scoped and kube-system objects are shared by every test file: remove ours (their
  // reports go with them, by the real garbage collector).
  await k.kc
    .makeApiClient(RbacAuthorizationV1Api)
    .deleteClusterRole({ name: clusterRole })
    .catch(() => {});
  await k.core.deleteNamespacedPod({ namespace: 'kube-system', name: etcdPod }).catch(() => {});
  await k.core.deleteNode({ name: node }).catch(() => {});
  if (promDir) await rm(promDir, { recursive: true, force: true });
});

/** The trivy_* families the writer serves from the reports this test makes. */
function servedFamilies(): string[] {
  return svc.writer.registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((n) => n.startsWith('trivy_') && !NOT_OF_THIS_TEST.has(n));
}

/**
 * trivy_* families the writer registers that no report of this test feeds: trivy_cluster_compliance
 * comes from ClusterComplianceReports, which test writers do not compute (CLUSTER_COMPLIANCE_ENABLED
 * is off in test/support/services.ts; compliance.test.ts covers them). No query here reads it.
 */
const NOT_OF_THIS_TEST = new Set(['trivy_cluster_compliance']);

/**
 * A selector of a family's series of this test's objects: the report namespace, or for the
 * families without one (ClusterRoles) and kube-system's, the object's name.
 */
function ofThisTest(family: string): string {
  if (family === 'trivy_clusterrole_clusterrbacassessments') return `resource_name="${clusterRole}"`;
  if (family.includes('infraassessments')) return `namespace="kube-system", resource_name="${etcdPod}"`;
  return `namespace=~"${nsA}|${nsB}"`;
}

/** Grafana's interpolation of the variables these dashboards use. */
function interpolate(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => vars[name] ?? m);
}

/** Samples with a finite value a target returns: instant at now, or range over the test's run. */
async function finiteSamples(target: Target, vars: Record<string, string>): Promise<number> {
  const expr = interpolate(target.expr, {
    __rate_interval: RATE_INTERVAL,
    __interval: `${STEP_SECONDS}s`,
    ...vars,
  });
  const now = Date.now() / 1000;
  const series = target.instant
    ? await prom.query(expr, now)
    : await prom.queryRange(expr, startedAt, now, STEP_SECONDS);
  let n = 0;
  for (const s of series) {
    for (const [, v] of s.values ?? (s.value ? [s.value] : [])) if (Number.isFinite(Number(v))) n++;
  }
  return n;
}

interface Outcome {
  panel: string;
  refId: string;
  expr: string;
  samples: number;
}

async function evaluateAll(d: Dashboard, vars: Record<string, string>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const p of panelsOf(d)) {
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      out.push({ panel: p.title, refId: t.refId, expr: t.expr, samples: await finiteSamples(t, vars) });
    }
  }
  // What each query returned, for the record (the assertions follow).
  console.log(
    `${d.dashboard ?? d.title}:\n${out.map((o) => `  ${String(o.samples).padStart(5)}  ${o.panel}/${o.refId}`).join('\n')}`,
  );
  return out;
}

/** trivy_* families a query reads. */
const familiesIn = (expr: string) => [
  ...new Set([...expr.matchAll(/\b(trivy_\w+)/g)].map((m) => m[1] ?? '')),
];

/**
 * Targets that get no data from trivy-operator either, with why: the dashboard's own mistake, not a
 * missing metric. Anything else must get data.
 */
const NO_DATA_WITH_TRIVY_OPERATOR_EITHER: Record<string, string> = {
  'Severity Breakdown of RBAC Security Issues/E':
    'asks for severity="UNKNOWN"; trivy-operator labels trivy_role_rbacassessments Critical, High, Medium or Low (collector.go rbacAssessmentSeverities, types.go)',
};

function checkTrivyOperatorDashboard(outcomes: Outcome[]) {
  const served = new Set(servedFamilies());
  const missing: string[] = [];
  const notServedYet: string[] = [];
  for (const o of outcomes) {
    const key = `${o.panel}/${o.refId}`;
    const unserved = familiesIn(o.expr).filter((f) => !served.has(f));
    if (NO_DATA_WITH_TRIVY_OPERATOR_EITHER[key]) {
      expect(o.samples, `${key}: ${NO_DATA_WITH_TRIVY_OPERATOR_EITHER[key]}`).toBe(0);
    } else if (unserved.length > 0) {
      // A family of a report kind fleetscan does not write yet (none in these two dashboards now;
      // compliance comes later): no data, and said so. Once served, it must get data like the rest.
      expect(o.samples, key).toBe(0);
      notServedYet.push(`${key} (${unserved.join(', ')})`);
    } else if (o.samples === 0) {
      missing.push(`${key}: ${o.expr}`);
    }
  }
  expect(missing).toEqual([]);
  return notServedYet;
}

describe('the trivy-operator dashboards, evaluated by a real Prometheus scraping fleetscan', () => {
  it('17813 (Trivy Operator Dashboard): every query of a family fleetscan serves gets data', async () => {
    const outcomes = await evaluateAll(trivyOperator17813, {});
    // Every family it reads is served, RBAC assessments included.
    expect(checkTrivyOperatorDashboard(outcomes)).toEqual([]);
    // Each of its panels gets data.
    const panelsWithData = new Set(outcomes.filter((o) => o.samples > 0).map((o) => o.panel));
    const without = panelsOf(trivyOperator17813)
      .map((p) => p.title)
      .filter((t) => !panelsWithData.has(t));
    expect(without).toEqual([]);
  });

  it('17214 (Trivy Operator / Image Vulnerability): every panel gets data, trivy_vulnerability_id included', async () => {
    // Its namespace variable reads kube-state-metrics (kube_namespace_labels), which is not ours:
    // the namespaces are the ones the fleet runs in, as Grafana joins a multi-value variable.
    const outcomes = await evaluateAll(trivyOperator17214, { namespace: `(${nsA}|${nsB})` });
    expect(checkTrivyOperatorDashboard(outcomes)).toEqual([]);
    expect(outcomes.length).toBe(9);
    // The CVE table shows the workload, image and CVE columns it organises.
    const rows = await prom.query(
      `sum(trivy_vulnerability_id{namespace=~"${nsA}"}) without (instance, job, endpoint, service, container)`,
    );
    const cols = new Set(rows.flatMap((r) => Object.keys(r.metric)));
    for (const c of [
      'severity',
      'vuln_id',
      'namespace',
      'image_registry',
      'image_repository',
      'image_tag',
      'image_digest',
      'name',
    ]) {
      expect(cols, c).toContain(c);
    }
  });

  it("carries the owners' REPORT_RESOURCE_LABELS as k8s_label_* on every family, from the reports' labels", async () => {
    for (const f of servedFamilies()) {
      if (f.includes('infraassessments')) {
        const platform = await prom.query(`count(${f}{${ofThisTest(f)}, k8s_label_team="platform"})`);
        expect(platform.length, f).toBe(1);
        continue;
      }
      if (f === 'trivy_clusterrole_clusterrbacassessments') {
        const payments = await prom.query(`count(${f}{${ofThisTest(f)}, k8s_label_team="payments"})`);
        expect(payments.length, f).toBe(1);
        continue;
      }
      const payments = await prom.query(`count(${f}{namespace="${nsA}", k8s_label_team="payments"})`);
      const search = await prom.query(`count(${f}{namespace="${nsA}", k8s_label_team="search"})`);
      if (f === 'trivy_exposedsecrets_info') {
        // Only the leaky image has secrets.
        expect(search.length, f).toBe(1);
      } else {
        expect(payments.length + search.length, f).toBeGreaterThan(0);
      }
    }
    // And every family, streamed, carries the writer's cluster as its other metrics do.
    for (const f of servedFamilies()) {
      const other = await prom.query(`count(${f}{${ofThisTest(f)}, cluster!="dash-${run}"})`);
      const ours = await prom.query(`count(${f}{${ofThisTest(f)}, cluster="dash-${run}"})`);
      expect([ours.length, other.length], f).toEqual([1, 0]);
    }
    const [report] = await listReports(k, 'VulnerabilityReport', nsB);
    expect(report?.metadata.labels).toMatchObject({ team: 'payments', env: 'test' });
  });
});

describe("fleetscan's own dashboard, on the same Prometheus", () => {
  it('has data behind every panel and every variable', async () => {
    const vars: Record<string, string> = {};
    for (const v of ours.templating.list) {
      const q = v.query?.query;
      if (!q) continue;
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      expect(m, `${v.name}: ${q}`).not.toBeNull();
      const values = await prom.labelValues(m?.[2] ?? '', m?.[1] ?? '');
      expect(values.length, `variable ${v.name}`).toBeGreaterThan(0);
      vars[v.name] = '.*';
    }
    const outcomes = await evaluateAll(ours, {
      ...vars,
      namespace: FLEETSCAN_NS,
      report_namespace: `(${nsA}|${nsB}|kube-system)`,
    });
    const byPanel = new Map<string, number>();
    for (const o of outcomes) byPanel.set(o.panel, (byPanel.get(o.panel) ?? 0) + o.samples);
    const empty = [...byPanel].filter(([, n]) => n === 0).map(([p]) => p);
    expect(empty).toEqual([]);
    expect(byPanel.size).toBe(panelsOf(ours).length);
  });

  it('counted the exposed secrets the panels show', async () => {
    const leaky = (await listReports(k, 'ExposedSecretReport', nsA)).find((r) =>
      r.metadata.name.startsWith('replicaset-leaky'),
    );
    expect(leaky?.report.summary.criticalCount).toBeGreaterThan(0);
    const [series] = await prom.query(
      `sum(trivy_image_exposedsecrets{namespace="${nsA}", name="${leaky?.metadata.name}", severity="Critical"})`,
    );
    expect(Number(series?.value?.[1])).toBe(leaky?.report.summary.criticalCount);
  });
});
