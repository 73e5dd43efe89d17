import { mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_REPORT_KINDS, REPORT_RESOURCES } from '@fleetscan/reports';
import {
  freePort,
  loadStackConfig,
  locateTools,
  type ManagedProcess,
  repoRoot,
  startProcess,
  waitReady,
} from '@fleetscan/stack';
import { connect } from '@nats-io/transport-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findObject, type K8sObject, locateHelm, renderChart } from '../support/deploy-helm.ts';
import {
  type ApiResponse,
  clusterOf,
  createResolver,
  deleteObject,
  mintToken,
  type RawApi,
  type Resolver,
  rawApi,
  serverSideApply,
  tokenKubeconfig,
} from '../support/deploy-kube.ts';
import {
  containerOf,
  type RunningService,
  resolveEnv,
  startService,
  waitServiceReady,
} from '../support/deploy-services.ts';
import { publishTrivyDb } from '../support/deploy-trivydb.ts';
import { waitFor } from '../support/wait.ts';

// The chart's RBAC applied for real; the watcher and writer run with tokens minted for their
// ServiceAccounts, every service with the environment the chart gives it, NATS with the chart's own
// configuration and credentials, and the scanner on a DB fetched by the image's trivy-db script.

const stack = inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `fleetscan-${run}`;
const appNs = `deploy-app-${run}`;
const release = 'fs';
const full = `${release}-fleetscan`;
const { cluster, adminToken, kc } = clusterOf(stack.kubeconfigPath);
const admin: RawApi = rawApi(cluster, adminToken);
let resolve: Resolver;
let objects: K8sObject[] = [];
let dir = '';
const applied: K8sObject[] = [];
const processes: ManagedProcess[] = [];
const services: RunningService[] = [];
const tokens: Record<string, string> = {};
const clusterRoles: string[] = [];
let natsUrl = '';
let natsMonitor = '';
let fleetviewApi = '';
let fleetviewToken = '';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

function expectStatus(r: ApiResponse, status: number, what: string) {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).toBe(status);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-deploy-rbac-'));
  resolve = createResolver(admin);
  const out = await renderChart(locateHelm(), {
    release,
    namespace: ns,
    values: {
      clusterName: `rbac-${run}`,
      scanner: { autoscaling: { keda: { enabled: true } } },
      fleetview: { enabled: true, apiToken: { enabled: true } },
    },
  });
  objects = out.objects;
  for (const name of [ns, appNs]) {
    expectStatus(
      await admin.call('POST', '/api/v1/namespaces', { metadata: { name } }),
      201,
      `namespace ${name}`,
    );
  }
  for (const obj of objects.filter((o) => RBAC_KINDS.has(o.kind))) {
    const r = await serverSideApply(admin, resolve, obj, { dryRun: false });
    expect([200, 201], `${obj.kind}/${obj.metadata.name}: ${r.text}`).toContain(r.status);
    applied.push(obj);
  }
  for (const c of ['watcher', 'writer', 'scanner']) tokens[c] = await mintToken(kc, ns, `${full}-${c}`);
  // The authorizer learns about new bindings through a watch: wait until both roles are in effect.
  for (const c of ['watcher', 'writer']) {
    await waitFor(`${c}'s role in effect`, async () =>
      (await rawApi(cluster, tokens[c] ?? '').call('GET', '/api/v1/pods?limit=1')).status === 200
        ? true
        : undefined,
    );
  }
});

afterAll(async () => {
  for (const s of services) await s.process.stop();
  for (const p of processes) await p.stop();
  await admin.call('DELETE', `/api/v1/namespaces/${appNs}`).catch(() => {});
  await admin.call('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
  for (const o of applied.filter((x) => x.kind.startsWith('Cluster'))) {
    await deleteObject(admin, resolve, o).catch(() => {});
  }
  for (const name of clusterRoles)
    await admin.call('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('RBAC applied for real, with tokens from the TokenRequest API', () => {
  it('lets each service do exactly its job', async () => {
    const as = (c: string) => rawApi(cluster, tokens[c] ?? '');
    const reportsPath = `/apis/aquasecurity.github.io/v1alpha1/namespaces/${appNs}/configauditreports`;
    const report = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'ConfigAuditReport',
      metadata: { name: 'rbac-probe', namespace: appNs },
      report: {
        updateTimestamp: new Date().toISOString(),
        scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0' },
        summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 },
        checks: [],
      },
    };
    // Allowed.
    expectStatus(await as('watcher').call('GET', '/api/v1/pods?limit=1'), 200, 'watcher lists pods');
    expectStatus(
      await as('watcher').call('GET', '/apis/batch/v1/cronjobs?limit=1'),
      200,
      'watcher lists cronjobs',
    );
    expectStatus(await as('watcher').call('GET', `${reportsPath}?limit=1`), 200, 'watcher lists reports');
    expectStatus(
      await as('writer').call('GET', '/apis/apps/v1/replicasets?limit=1'),
      200,
      'writer lists replicasets',
    );
    expectStatus(await as('writer').call('POST', reportsPath, report), 201, 'writer creates a report');
    expectStatus(
      await as('writer').call('DELETE', `${reportsPath}/rbac-probe`),
      200,
      'writer deletes a report',
    );
    // ScanFailed Events on owners of images whose scans fail: created, then patched in place.
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'rbac-probe.scanfailed', namespace: appNs },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'x', namespace: appNs, uid: 'u' },
      reason: 'ScanFailed',
      message: 'probe',
      type: 'Warning',
      count: 1,
    };
    expectStatus(
      await as('writer').call('POST', `/api/v1/namespaces/${appNs}/events`, event),
      201,
      'writer creates an event',
    );
    expectStatus(
      await as('writer').call(
        'PATCH',
        `/api/v1/namespaces/${appNs}/events/rbac-probe.scanfailed`,
        { count: 2 },
        'application/merge-patch+json',
      ),
      200,
      'writer patches an event',
    );
    expectStatus(
      await as('watcher').call('POST', `/api/v1/namespaces/${appNs}/events`, event),
      403,
      'watcher creates an event',
    );
    expectStatus(
      await as('writer').call('DELETE', `/api/v1/namespaces/${appNs}/events/rbac-probe.scanfailed`),
      403,
      'writer deletes an event',
    );
    // Denied: outside their rights.
    expectStatus(
      await as('writer').call('GET', `/api/v1/namespaces/${appNs}/secrets`),
      403,
      'writer reads secrets',
    );
    expectStatus(await as('watcher').call('GET', '/api/v1/secrets'), 403, 'watcher reads secrets');
    expectStatus(await as('watcher').call('POST', reportsPath, report), 403, 'watcher writes a report');
    expectStatus(
      await as('writer').call('DELETE', `/apis/apps/v1/namespaces/${appNs}/deployments/anything`),
      403,
      'writer deletes a workload',
    );
    expectStatus(await as('writer').call('GET', '/api/v1/configmaps'), 403, 'writer reads configmaps');
    expectStatus(await as('scanner').call('GET', '/api/v1/pods?limit=1'), 403, 'scanner lists pods');
  });

  it('lets watcher and writer read the kinds audited by default, and only those', async () => {
    const as = (c: string) => rawApi(cluster, tokens[c] ?? '');
    const audited = [
      '/api/v1/services',
      '/api/v1/persistentvolumes',
      '/api/v1/persistentvolumeclaims',
      '/api/v1/limitranges',
      '/api/v1/resourcequotas',
      '/apis/rbac.authorization.k8s.io/v1/roles',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis/networking.k8s.io/v1/networkpolicies',
      '/apis/networking.k8s.io/v1/ingresses',
      '/apis/aquasecurity.github.io/v1alpha1/clusterrbacassessmentreports',
      '/apis/aquasecurity.github.io/v1alpha1/infraassessmentreports',
    ];
    for (const c of ['watcher', 'writer'])
      for (const path of audited)
        expectStatus(await as(c).call('GET', `${path}?limit=1`), 200, `${c} lists ${path}`);
    // SbomReports (writer.sbomGenerationEnabled, on by default): the writer's alone.
    const sboms = '/apis/aquasecurity.github.io/v1alpha1/sbomreports?limit=1';
    expectStatus(await as('writer').call('GET', sboms), 200, 'writer lists sbomreports');
    expectStatus(await as('watcher').call('GET', sboms), 403, 'watcher lists sbomreports');
    // Not in the default supportedConfigAuditKinds: no read.
    for (const path of [
      '/api/v1/configmaps',
      '/apis/rbac.authorization.k8s.io/v1/rolebindings',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    ])
      expectStatus(await as('watcher').call('GET', `${path}?limit=1`), 403, `watcher lists ${path}`);
    // Cluster-scoped reports: the writer writes and deletes them, the watcher does not.
    const path = '/apis/aquasecurity.github.io/v1alpha1/clusterrbacassessmentreports';
    const report = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'ClusterRbacAssessmentReport',
      metadata: { name: `rbac-probe-${run}` },
      report: {
        scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0' },
        summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 },
        checks: [],
      },
    };
    expectStatus(await as('watcher').call('POST', path, report), 403, 'watcher writes a cluster report');
    expectStatus(await as('writer').call('POST', path, report), 201, 'writer creates a cluster report');
    expectStatus(await as('writer').call('DELETE', `${path}/rbac-probe-${run}`), 200, 'writer deletes it');
  });

  it('lets the writer read ClusterComplianceReports and write their status only; the watcher neither', async () => {
    const as = (c: string) => rawApi(cluster, tokens[c] ?? '');
    const path = '/apis/aquasecurity.github.io/v1alpha1/clustercompliancereports';
    const name = `rbac-probe-${run}`;
    const compliance = {
      id: name,
      title: 'probe',
      description: 'probe',
      version: '0',
      relatedResources: [],
      platform: 'k8s',
      type: 'probe',
      controls: [{ id: '1', name: 'Privileged', severity: 'HIGH', checks: [{ id: 'KSV-0017' }] }],
    };
    const cr = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'ClusterComplianceReport',
      metadata: { name },
      spec: { cron: '0 */6 * * *', reportType: 'summary', compliance },
    };
    expectStatus(await admin.call('POST', path, cr), 201, 'admin creates a ClusterComplianceReport');
    try {
      expectStatus(await as('watcher').call('GET', `${path}?limit=1`), 403, 'watcher lists them');
      expectStatus(await as('writer').call('GET', `${path}?limit=1`), 200, 'writer lists them');
      expectStatus(
        await as('writer').call(
          'GET',
          '/apis/aquasecurity.github.io/v1alpha1/clusterinfraassessmentreports?limit=1',
        ),
        200,
        'writer lists node reports',
      );
      const cur = (await as('writer').call('GET', `${path}/${name}`)).json() as Record<string, unknown>;
      const status = { updateTimestamp: '2026-01-01T00:00:00Z', summary: { passCount: 1 } };
      expectStatus(
        await as('watcher').call('PUT', `${path}/${name}/status`, { ...cur, status }),
        403,
        'watcher',
      );
      expectStatus(
        await as('writer').call('PUT', `${path}/${name}/status`, { ...cur, status }),
        200,
        'writer status',
      );
      // Not their spec, not creating or deleting them: that is the chart's (or the user's).
      expectStatus(await as('writer').call('PUT', `${path}/${name}`, cur), 403, 'writer updates the spec');
      expectStatus(
        await as('writer').call('POST', path, { ...cr, metadata: { name: `${name}-2` } }),
        403,
        'create',
      );
      expectStatus(await as('writer').call('DELETE', `${path}/${name}`), 403, 'writer deletes one');
    } finally {
      await admin.call('DELETE', `${path}/${name}`);
    }
  });
});

describe("namespace users, through the chart's roles aggregated into view and edit", () => {
  it('lets a view user of a namespace read its reports, an edit user delete one, and neither go further', async () => {
    const reports = (ns: string) =>
      `/apis/aquasecurity.github.io/v1alpha1/namespaces/${ns}/vulnerabilityreports`;
    const report = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'VulnerabilityReport',
      metadata: { name: 'aggregate-probe', namespace: appNs },
      report: {
        updateTimestamp: new Date().toISOString(),
        scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0' },
        registry: { server: 'r' },
        artifact: { repository: 'a' },
        os: { family: '' },
        summary: {
          criticalCount: 0,
          highCount: 0,
          mediumCount: 0,
          lowCount: 0,
          unknownCount: 0,
          noneCount: 0,
        },
        vulnerabilities: [],
      },
    };
    // A CRD's storage answers 429 "(re)initializing" for a moment after it is (re)installed: asked again.
    const answered = (label: string, call: () => ReturnType<RawApi['call']>) =>
      waitFor(label, async () => {
        const res = await call();
        return res.status === 429 ? undefined : res;
      });
    expectStatus(
      await answered('admin creates a report', () => admin.call('POST', reports(appNs), report)),
      201,
      'admin creates a report',
    );
    const user = async (name: string, role: 'view' | 'edit') => {
      expectStatus(
        await admin.call('POST', `/api/v1/namespaces/${appNs}/serviceaccounts`, { metadata: { name } }),
        201,
        `serviceaccount ${name}`,
      );
      expectStatus(
        await admin.call('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/rolebindings`, {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ kind: 'ServiceAccount', name, namespace: appNs }],
        }),
        201,
        `rolebinding ${name}`,
      );
      return rawApi(cluster, await mintToken(kc, appNs, name));
    };
    const viewer = await user('report-viewer', 'view');
    const editor = await user('report-editor', 'edit');
    // The aggregation controller copies the rules into view and edit, and the authorizer learns of them.
    await waitFor('view aggregating the report roles', async () =>
      (await viewer.call('GET', reports(appNs))).status === 200 ? true : undefined,
    );
    const kindPath = (plural: string) =>
      `/apis/aquasecurity.github.io/v1alpha1/namespaces/${appNs}/${plural}`;
    for (const plural of OWNER_REPORT_KINDS.filter((k) => !k.startsWith('Cluster')).map(
      (k) => REPORT_RESOURCES[k].plural,
    )) {
      const res = await answered(`viewer lists ${plural}`, () => viewer.call('GET', kindPath(plural)));
      expectStatus(res, 200, `viewer lists ${plural}`);
    }
    const elsewhere = await answered('viewer elsewhere', () => viewer.call('GET', reports(ns)));
    expectStatus(elsewhere, 403, "viewer lists another namespace's reports");
    const del = await answered('viewer deletes', () =>
      viewer.call('DELETE', `${reports(appNs)}/aggregate-probe`),
    );
    expectStatus(del, 403, 'viewer deletes a report');
    await waitFor('edit aggregating the report roles', async () =>
      (await editor.call('DELETE', `${reports(appNs)}/aggregate-probe`)).status === 200 ? true : undefined,
    );
    const write = await answered('editor elsewhere', () =>
      editor.call('POST', reports(ns), { ...report, metadata: { name: 'x', namespace: ns } }),
    );
    expectStatus(write, 403, 'editor writes elsewhere');
  });
});

describe('the main scenario with the chart as deployed', () => {
  beforeAll(async () => {
    const tools = locateTools(loadStackConfig().cacheDir);
    // NATS exactly as the chart runs it: its command, its config, its Secret; ports on 127.0.0.1.
    const sts = findObject(objects, 'StatefulSet', `${full}-nats`);
    const natsC = containerOf(sts, 'nats');
    const conf = (
      findObject(objects, 'Secret', `${full}-nats-config`) as K8sObject & {
        stringData: Record<string, string>;
      }
    ).stringData['nats.conf'];
    await writeFile(join(dir, 'nats.conf'), conf ?? '');
    const [port, monitor] = [await freePort(), await freePort()];
    const paths: Record<string, string> = {
      'nats-server': tools.natsServer,
      '/etc/nats/nats.conf': join(dir, 'nats.conf'),
      '/data': join(dir, 'nats-data'),
    };
    const natsArgs = (natsC.command ?? []).map((a) => paths[a] ?? a);
    const natsEnv = resolveEnv(natsC, objects, { name: `${full}-nats-0`, namespace: ns });
    const nats = startProcess({
      name: 'nats-server',
      command: natsArgs[0] ?? '',
      args: [
        ...natsArgs.slice(1),
        '--addr',
        '127.0.0.1',
        '--port',
        String(port),
        '--http_port',
        String(monitor),
      ],
      env: natsEnv,
      logFile: join(dir, 'nats-server.log'),
      dieWithParent: true,
    });
    processes.push(nats);
    natsUrl = `nats://127.0.0.1:${port}`;
    natsMonitor = `http://127.0.0.1:${monitor}`;
    // Fails at once, with the server's log, if it exits (a config it cannot parse).
    await waitReady(
      nats,
      async () => (await fetch(`${natsMonitor}/healthz?js-enabled-only=true`)).ok,
      60_000,
    );

    // trivy's DB as the init container fetches it: the image's trivy-db script and real trivy,
    // from the stack's registry where the fixture DB is published like the upstream artifact.
    const scanner = findObject(objects, 'Deployment', `${full}-scanner`);
    const init = containerOf(scanner, 'trivy-db');
    const dbRef = await publishTrivyDb({
      registryUrl: stack.registry.url,
      registryHost: stack.registry.host,
      cacheDir: stack.trivy.cacheDir,
    });
    const dbRoot = join(dir, 'trivy');
    const initEnv = resolveEnv(init, objects, { name: 'scanner-0', namespace: ns });
    expect(initEnv.TRIVY_DB_ROOT).toBe('/var/cache/trivy');
    expect(init.command).toEqual(['trivy-db', 'once']);
    const script = join(repoRoot, 'deploy', 'images', 'scanner', 'trivy-db.sh');
    const db = await execa(script, init.command?.slice(1) ?? [], {
      env: {
        ...initEnv,
        TRIVY_DB_ROOT: dbRoot,
        TRIVY_DB_REPOSITORIES: dbRef,
        TRIVY_BIN: stack.trivy.bin,
        PATH: process.env.PATH ?? '',
        TMPDIR: dir,
      },
      reject: false,
    });
    expect(db.exitCode, db.stderr).toBe(0);

    // The services, each with its chart environment and, for watcher and writer, its own token.
    for (const c of ['watcher', 'writer'] as const) {
      await writeFile(join(dir, `${c}.kubeconfig`), tokenKubeconfig(cluster, tokens[c] ?? '', c), {
        mode: 0o600,
      });
    }
    const mapPath = (p: string | undefined) => (p ?? '').replace(/^\/var\/cache\/trivy/, dbRoot);
    for (const c of ['writer', 'watcher', 'scanner'] as const) {
      const d = findObject(objects, 'Deployment', `${full}-${c}`);
      const main = containerOf(d, c);
      const env = resolveEnv(main, objects, { name: `${full}-${c}-0`, namespace: ns });
      expect(env.METRICS_HOST, `${c} binds /metrics on the pod's interfaces`).toBe('0.0.0.0');
      expect(env.NATS_URL).toBe(`nats://${full}-nats.${ns}.svc:4222`);
      // Its own NATS user, whose password the chart's NATS reads from the same Secret.
      const pwVar =
        c === 'scanner' ? 'NATS_PW_SCANNER' : `NATS_PW_${c.toUpperCase()}_RBAC_${run.toUpperCase()}`;
      expect(env.NATS_USER).toBe(c === 'scanner' ? 'scanner' : `${c}-rbac-${run}`);
      expect(env.NATS_PASSWORD, `${c} gets its NATS password from the Secret`).toBe(natsEnv[pwVar]);
      const overrides: Record<string, string> =
        c === 'scanner'
          ? {
              NATS_URL: natsUrl,
              TRIVY_BIN: stack.trivy.bin,
              AUDITOR_BIN: stack.trivy.auditor,
              TRIVY_CACHE_DIR: mapPath(env.TRIVY_CACHE_DIR),
            }
          : { NATS_URL: natsUrl, KUBECONFIG: join(dir, `${c}.kubeconfig`) };
      services.push(await startService({ service: c, env, overrides, logDir: dir }));
    }
    // The fleet view: no Kubernetes access, its own NATS user, its bearer token from the chart's Secret.
    const fv = findObject(objects, 'Deployment', `${full}-fleetview`);
    const fvEnv = resolveEnv(containerOf(fv, 'fleetview'), objects, {
      name: `${full}-fleetview-0`,
      namespace: ns,
    });
    expect(fvEnv.NATS_USER).toBe('fleetview');
    expect(fvEnv.NATS_PASSWORD, 'fleetview gets its NATS password from the Secret').toBe(
      natsEnv.NATS_PW_FLEETVIEW,
    );
    const tokenSecret = findObject(objects, 'Secret', `${full}-fleetview-token`) as K8sObject & {
      data: Record<string, string>;
    };
    fleetviewToken = Buffer.from(tokenSecret.data.token ?? '', 'base64').toString('utf8');
    await writeFile(join(dir, 'fleetview-token'), fleetviewToken, { mode: 0o600 });
    const apiPort = await freePort();
    fleetviewApi = `http://127.0.0.1:${apiPort}`;
    services.push(
      await startService({
        service: 'fleetview',
        env: fvEnv,
        overrides: {
          NATS_URL: natsUrl,
          API_HOST: '127.0.0.1',
          API_PORT: String(apiPort),
          API_TOKEN_FILE: join(dir, 'fleetview-token'),
        },
        logDir: dir,
      }),
    );
    await Promise.all(services.map((s) => waitServiceReady(s)));
  });

  it('rejects NATS clients without the credentials', async () => {
    const err = await connect({ servers: natsUrl, reconnect: false }).then(
      async (nc) => {
        await nc.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/authorization/i);
  });

  it("writes a Deployment's ConfigAuditReport and VulnerabilityReport", async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: appNs },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: `${stack.registry.host}/library/nginx:1.20` }] },
        },
      },
    };
    expectStatus(
      await admin.call('POST', `/apis/apps/v1/namespaces/${appNs}/deployments`, deployment),
      201,
      'create',
    );
    const rs = await waitFor('the current ReplicaSet', async () => {
      const list = (await admin.call('GET', `/apis/apps/v1/namespaces/${appNs}/replicasets`)).json() as {
        items: { metadata: { name: string; uid: string; ownerReferences?: { name: string }[] } }[];
      };
      return list.items.find((r) => r.metadata.ownerReferences?.some((o) => o.name === 'web'))?.metadata;
    });
    const report = (plural: string, name: string) =>
      waitFor(
        `${plural} ${name}`,
        async () => {
          const r = await admin.call(
            'GET',
            `/apis/aquasecurity.github.io/v1alpha1/namespaces/${appNs}/${plural}/${name}`,
          );
          return r.status === 200
            ? (r.json() as Record<string, unknown> & { metadata: Record<string, unknown> })
            : undefined;
        },
        90_000,
      );
    const [config, vuln] = await Promise.all([
      report('configauditreports', `replicaset-${rs.name}`),
      report('vulnerabilityreports', `replicaset-${rs.name}-nginx`),
    ]);
    for (const r of [config, vuln]) {
      const meta = r.metadata as {
        ownerReferences: { uid: string }[];
        managedFields: { manager: string }[];
      };
      expect(meta.ownerReferences.map((o) => o.uid)).toEqual([rs.uid]);
      expect(meta.managedFields.map((f) => f.manager)).toContain('fleetscan-writer');
    }
    const vulns = (vuln.report as { vulnerabilities: { vulnerabilityID: string }[] }).vulnerabilities;
    expect(vulns.map((x) => x.vulnerabilityID)).toContain('CVE-2021-22945');
  });

  it('answers where that CVE runs from the fleet view the chart runs, to a request with its token only', async () => {
    const url = `${fleetviewApi}/v1/vulnerabilities/CVE-2021-22945/workloads?namespace=${appNs}`;
    const rows = await waitFor(
      'the fleet view lists the web ReplicaSet',
      async () => {
        const r = await fetch(url, { headers: { authorization: `Bearer ${fleetviewToken}` } });
        if (!r.ok) return undefined;
        const items = ((await r.json()) as { items: { kind: string; name: string; container: string }[] })
          .items;
        return items.length > 0 ? items : undefined;
      },
      60_000,
    );
    // One row per package carrying it (curl and libcurl), all of the web ReplicaSet's nginx container.
    expect(new Set(rows.map((r) => `${r.kind} ${r.name.startsWith('web-')} ${r.container}`))).toEqual(
      new Set(['ReplicaSet true nginx']),
    );
    expect((await fetch(url)).status).toBe(401);
  });

  it("writes a Role's RbacAssessmentReport and a ClusterRole's ClusterRbacAssessmentReport", async () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'deployer', namespace: appNs },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    };
    const clusterRole = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${ns}-secrets` },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    };
    expectStatus(
      await admin.call('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/roles`, role),
      201,
      'create role',
    );
    expectStatus(
      await admin.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', clusterRole),
      201,
      'create clusterrole',
    );
    clusterRoles.push(clusterRole.metadata.name);
    const get = (path: string) =>
      waitFor(
        path,
        async () => {
          const r = await admin.call('GET', path);
          return r.status === 200
            ? (r.json() as { metadata: { ownerReferences: { kind: string }[] } })
            : undefined;
        },
        120_000,
      );
    const [rbac, clusterRbac] = await Promise.all([
      get(`/apis/aquasecurity.github.io/v1alpha1/namespaces/${appNs}/rbacassessmentreports/role-deployer`),
      get(`/apis/aquasecurity.github.io/v1alpha1/clusterrbacassessmentreports/clusterrole-${ns}-secrets`),
    ]);
    expect(rbac.metadata.ownerReferences.map((o) => o.kind)).toEqual(['Role']);
    expect(clusterRbac.metadata.ownerReferences.map((o) => o.kind)).toEqual(['ClusterRole']);
    // Every watch the chart's defaults start is allowed by the chart's RBAC: the services are ready. A
    // refused watch keeps a service not ready; one moment's dip (a CI run read the writer not ready once,
    // its logs not kept) must not pass for one, so each gets 30 s, and a failure names the failing check.
    for (const s of services) {
      let body = '';
      const ready = await waitFor(
        `${s.name} ready`,
        async () => {
          const r = await fetch(`${s.url}/readyz`);
          body = await r.text();
          return r.ok ? true : undefined;
        },
        30_000,
      ).catch(() => false);
      expect(ready, `${s.name} /readyz: ${body}`).toBe(true);
    }
  });

  it('serves the JetStream stream and consumers the KEDA scaler is configured for', async () => {
    const so = findObject(objects, 'ScaledObject', `${full}-scanner`);
    const triggers = (so.spec as { triggers: { metadata: Record<string, string> }[] }).triggers;
    expect(triggers[0]?.metadata.natsServerMonitoringEndpoint).toBe(`${full}-nats.${ns}.svc:8222`);
    for (const t of triggers) {
      const { account = '', stream, consumer } = t.metadata;
      const jsz = (await (
        await fetch(`${natsMonitor}/jsz?acc=${encodeURIComponent(account)}&consumers=true`)
      ).json()) as {
        account_details?: {
          name: string;
          stream_detail?: { name: string; consumer_detail?: { name: string }[] }[];
        }[];
      };
      const acc = jsz.account_details?.find((a) => a.name === account);
      const s = acc?.stream_detail?.find((x) => x.name === stream);
      expect(
        s?.consumer_detail?.map((c) => c.name),
        `${account} ${stream}`,
      ).toContain(consumer);
    }
  });

  it('keeps refreshing the DB with an atomic switch, and the refresher stops on SIGTERM', async () => {
    const scanner = findObject(objects, 'Deployment', `${full}-scanner`);
    const refresher = containerOf(scanner, 'trivy-db-refresh');
    expect(refresher.command).toEqual(['trivy-db', 'refresh']);
    const root = join(dir, 'trivy');
    const before = await readlinkSafe(join(root, 'current'));
    const p = execa(join(repoRoot, 'deploy', 'images', 'scanner', 'trivy-db.sh'), ['refresh'], {
      env: {
        ...resolveEnv(refresher, objects, { name: 'scanner-0', namespace: ns }),
        TRIVY_DB_ROOT: root,
        TRIVY_DB_REPOSITORIES: `${stack.registry.host}/fleetscan-test/trivy-db:2`,
        TRIVY_DB_REFRESH_SECONDS: '1',
        TRIVY_BIN: stack.trivy.bin,
        PATH: process.env.PATH ?? '',
        TMPDIR: dir,
      },
      reject: false,
    });
    const after = await waitFor('a refreshed DB generation', async () => {
      const now = await readlinkSafe(join(root, 'current'));
      return now && now !== before ? now : undefined;
    });
    expect(after).toMatch(/^db-/);
    p.kill('SIGTERM');
    const res = await p;
    expect(res.exitCode, res.stderr).toBe(0);
    // The scanner keeps working on the new generation.
    const scannerSvc = services.find((s) => s.name === 'scanner');
    expect((await fetch(`${scannerSvc?.url}/readyz`)).ok).toBe(true);
  });
});

function readlinkSafe(p: string): Promise<string | undefined> {
  return readlink(p).catch(() => undefined);
}
