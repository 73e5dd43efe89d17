import { chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '@fleetscan/demo';
import {
  freePort,
  loadStackConfig,
  locateComposeConfig,
  natsEnv,
  provisionCluster,
  repoRoot,
} from '@fleetscan/stack';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findObject, type K8sObject, locateHelm, renderChart } from '../support/deploy-helm.ts';
import {
  clusterOf,
  createResolver,
  type RawApi,
  rawApi,
  serverSideApply,
  tokenKubeconfig,
} from '../support/deploy-kube.ts';
import { containerOf, podSpecOf, resolveEnv } from '../support/deploy-services.ts';
import { publishTrivyDb } from '../support/deploy-trivydb.ts';
import {
  type ImagesManifest,
  type Podman,
  podmanFor,
  podmanRunFlags,
  readImagesManifest,
  type SecurityContext,
  uidsOf,
} from '../support/podman.ts';
import { waitFor } from '../support/wait.ts';

// The container images that .ci/images builds from deploy/images/Dockerfile (FLEETSCAN_IMAGES names
// its manifest), pushed to the stack's registry and started with podman the way the chart runs them:
// each image's own entrypoint and user, a read-only root filesystem, the chart's environment. Those
// containers are fleetscan here, and they scan fleetscan: the chart's own Deployments, applied with the
// pushed images, get their VulnerabilityReports and ConfigAuditReports from the real pipeline.

const manifestPath = process.env.FLEETSCAN_IMAGES;
const stack = inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `images-${run}`;
const release = 'fs';
const full = `${release}-fleetscan`;
/** .ci/images removes what a run of its leaves behind by this label. */
const label = `io.fleetscan.test=${process.env.FLEETSCAN_IMAGES_RUN ?? run}`;
const SERVICES = ['scanner', 'writer', 'watcher'] as const;
type Service = (typeof SERVICES)[number];
const IMAGE_USER = 10001;
/** trivy pulls and analyses three images of 300-500 MB on a shared 2-core machine. */
const SCAN_TIMEOUT_MS = 8 * 60_000;

interface Running {
  service: Service;
  name: string;
  url: string;
}

interface VulnReport {
  metadata: { name: string; ownerReferences?: { uid: string }[]; labels?: Record<string, string> };
  report: {
    artifact: { repository: string; tag?: string; digest?: string };
    os?: { family?: string; name?: string };
    summary: Record<string, number>;
    vulnerabilities: {
      vulnerabilityID: string;
      severity: string;
      resource: string;
      installedVersion: string;
    }[];
  };
}

interface ConfigReport {
  metadata: { name: string; ownerReferences?: { uid: string }[] };
  report: {
    summary: Record<string, number>;
    checks: { checkID: string; severity: string; success: boolean; title: string }[];
  };
}

describe.skipIf(!manifestPath)('the images, built by .ci/images (run `bash .ci/images`)', () => {
  let manifest: ImagesManifest;
  let podman: Podman;
  let admin: RawApi;
  let objects: K8sObject[] = [];
  let dir = '';
  const running: Running[] = [];
  const pushed = new Map<Service, string>();

  const imageOf = (service: Service) => {
    const i = manifest.images.find((x) => x.service === service);
    if (!i) throw new Error(`${manifestPath} has no ${service} image`);
    return i.image;
  };
  const runningOf = (service: Service) => {
    const r = running.find((x) => x.service === service);
    if (!r) throw new Error(`${service} is not running`);
    return r;
  };

  beforeAll(async () => {
    manifest = readImagesManifest(manifestPath ?? '');
    podman = podmanFor(manifest);
    const { cluster, adminToken } = clusterOf(stack.kubeconfigPath);
    admin = rawApi(cluster, adminToken);
    dir = await mkdtemp(join(tmpdir(), 'fleetscan-images-'));

    // Pushed as the chart names images: <prefix>/fleetscan-<service>:<tag>.
    for (const s of SERVICES) {
      const ref = `${stack.registry.host}/fleetscan-${s}:${run}`;
      await podman.ok(['push', '--quiet', '--tls-verify=false', imageOf(s), `docker://${ref}`], 300_000);
      pushed.set(s, ref);
    }
    objects = (
      await renderChart(locateHelm(), {
        release,
        namespace: ns,
        values: {
          clusterName: `images-${run}`,
          image: { prefix: stack.registry.host, tag: run },
        },
      })
    ).objects;

    // The scanner's DB as its init container fetches it: the image's trivy-db script and trivy, from
    // the stack's registry where the fixture DB is published like the upstream artifact, into a
    // directory that is the pod's emptyDir (owned by fsGroup 10001).
    const scanner = findObject(objects, 'Deployment', `${full}-scanner`);
    const pod = podSpecOf(scanner);
    const dbRoot = join(dir, 'trivy');
    await mkdir(dbRoot);
    await chown(dbRoot, IMAGE_USER, IMAGE_USER);
    const dbRef = await publishTrivyDb({
      registryUrl: stack.registry.url,
      registryHost: stack.registry.host,
      cacheDir: stack.trivy.cacheDir,
    });
    const init = containerOf(scanner, 'trivy-db');
    const initEnv = {
      ...resolveEnv(init, objects, { name: 'scanner-0', namespace: ns }),
      TRIVY_DB_REPOSITORIES: dbRef,
    };
    const db = await podman.run(
      [
        'run',
        '--rm',
        '--label',
        label,
        ...podmanRunFlags(init.securityContext as SecurityContext, { tmpfs: ['/tmp'] }),
        ...envFlags(initEnv),
        '-v',
        `${dbRoot}:/var/cache/trivy`,
        '--entrypoint',
        JSON.stringify(init.command),
        pushed.get('scanner') ?? '',
      ],
      180_000,
    );
    expect(db.exitCode, db.stderr).toBe(0);
    expect(pod.securityContext?.fsGroup).toBe(IMAGE_USER);

    // watcher and writer reach the API server with the stack's admin token (deploy-rbac.test.ts runs
    // them with their own RBAC); the file is readable by the image's user only.
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, tokenKubeconfig(cluster, adminToken, 'images'), { mode: 0o600 });
    await chown(kubeconfig, IMAGE_USER, IMAGE_USER);

    // The stack's NATS knows its users by nkey, not the chart's generated passwords: each container
    // logs in as its own user with a seed file readable by the image's user only.
    const clusterName = `images-${run}`;
    await provisionCluster(stack, clusterName);
    for (const service of SERVICES) {
      const d = findObject(objects, 'Deployment', `${full}-${service}`);
      const c = containerOf(d, service);
      const port = await freePort();
      const identity =
        service === 'scanner' ? { role: 'scanner' as const } : { role: service, cluster: clusterName };
      const seed = join(dir, `${service}.nk`);
      await copyFile(natsEnv(stack, identity).NATS_NKEY_FILE ?? '', seed);
      await chown(seed, IMAGE_USER, IMAGE_USER);
      const {
        NATS_USER: _u,
        NATS_PASSWORD: _p,
        ...chartEnv
      } = resolveEnv(c, objects, {
        name: `${full}-${service}-0`,
        namespace: ns,
      });
      const env = {
        ...chartEnv,
        NATS_NKEY_FILE: '/etc/fleetscan/nats.nk',
        NATS_URL: stack.natsUrl,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(port),
        ...(service === 'scanner' ? {} : { KUBECONFIG: '/etc/fleetscan/kubeconfig' }),
      };
      const mounts = [
        '-v',
        `${seed}:/etc/fleetscan/nats.nk:ro`,
        ...(service === 'scanner'
          ? ['-v', `${dbRoot}:/var/cache/trivy:ro`]
          : ['-v', `${kubeconfig}:/etc/fleetscan/kubeconfig:ro`]),
      ];
      const name = `fleetscan-${service}-${run}`;
      await podman.ok([
        'run',
        '--detach',
        '--name',
        name,
        '--label',
        label,
        ...podmanRunFlags(c.securityContext as SecurityContext, { tmpfs: ['/tmp'] }),
        ...envFlags(env),
        ...mounts,
        pushed.get(service) ?? '',
      ]);
      running.push({ service, name, url: `http://127.0.0.1:${port}` });
    }
    await Promise.all(running.map((r) => waitContainerReady(podman, r)));
  }, 15 * 60_000);

  afterAll(async () => {
    if (!manifestPath) return;
    for (const r of running) await podman?.run(['rm', '--force', '--time', '10', r.name]);
    await admin?.call('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs each entrypoint as the image user 10001, the chart runAsUser, on a read-only root filesystem', async () => {
    for (const r of running) {
      const [info] = JSON.parse(await podman.ok(['inspect', r.name])) as {
        State: { Pid: number; Running: boolean };
        Config: { User: string; Entrypoint: string | string[] };
        HostConfig: { ReadonlyRootfs: boolean };
      }[];
      expect(info?.State.Running, r.name).toBe(true);
      expect(info?.Config.User, r.name).toBe(`${IMAGE_USER}:${IMAGE_USER}`);
      expect(info?.HostConfig.ReadonlyRootfs, r.name).toBe(true);
      const c = containerOf(findObject(objects, 'Deployment', `${full}-${r.service}`), r.service);
      const sc = c.securityContext as SecurityContext;
      expect([sc.runAsUser, sc.runAsGroup, sc.readOnlyRootFilesystem]).toEqual([
        IMAGE_USER,
        IMAGE_USER,
        true,
      ]);
      // The process itself, seen from the host: its uids and the command line of the image's entrypoint.
      const pid = info?.State.Pid ?? 0;
      expect(uidsOf(await readFile(`/proc/${pid}/status`, 'utf8')), r.name).toEqual([
        IMAGE_USER,
        IMAGE_USER,
        IMAGE_USER,
        IMAGE_USER,
      ]);
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      expect(argv, r.name).toEqual([
        'node',
        ...SERVICE_NODE_FLAGS[r.service],
        `services/${r.service}/src/main.ts`,
      ]);
      // Not even root in the container can write its root filesystem; /tmp is the pod's emptyDir.
      const asRoot = await podman.run(['exec', '--user', '0', r.name, 'touch', '/app/probe']);
      expect(asRoot.exitCode, r.name).not.toBe(0);
      expect(asRoot.stderr, r.name).toMatch(/Read-only file system/);
      expect((await podman.run(['exec', r.name, 'touch', '/tmp/probe'])).exitCode, r.name).toBe(0);
    }
  });

  it("answers docker-compose.yml's healthcheck from inside the image", async () => {
    const compose = await composeConfig();
    for (const r of running) {
      const test = compose.services[r.service]?.healthcheck?.test ?? [];
      expect(test[0], r.service).toBe('CMD');
      const port = new URL(r.url).port;
      const cmd = test.slice(1).map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
      const res = await podman.run(['exec', r.name, ...cmd]);
      expect(res.exitCode, `${r.service}: ${res.stderr}`).toBe(0);
    }
  });

  it('names, builds and configures the images in docker-compose.yml as .ci/images built them', async () => {
    const compose = await composeConfig();
    const built = new Map(manifest.images.map((i) => [i.image, i.service]));
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.build) continue;
      expect(s.build.dockerfile, name).toBe('deploy/images/Dockerfile');
      expect(built.get(`localhost/${s.image}`) ?? built.get(s.image ?? ''), name).toBe(s.build.target);
    }
    // The fleet view's image is built with the others (compose runs it); this test does not start it yet.
    expect([...built.values()].sort()).toEqual(['fleetview', 'scanner', 'watcher', 'writer']);
  });

  it("the scanner image's trivy scans an image", async () => {
    const scanner = runningOf('scanner');
    const version = await podman.ok(['exec', scanner.name, 'trivy', '--version']);
    expect(version).toContain(`Version: ${stack.versions.TRIVY_VERSION?.replace(/^v/, '')}`);
    const out = await podman.ok(
      [
        'exec',
        scanner.name,
        'trivy',
        'image',
        '--quiet',
        '--format',
        'json',
        '--cache-dir',
        '/var/cache/trivy/current',
        '--cache-backend',
        'memory',
        '--skip-db-update',
        '--offline-scan',
        '--skip-version-check',
        '--disable-telemetry',
        `${stack.registry.host}/library/nginx:1.20`,
      ],
      300_000,
    );
    const ids = (
      JSON.parse(out) as { Results?: { Vulnerabilities?: { VulnerabilityID: string }[] }[] }
    ).Results?.flatMap((r) => (r.Vulnerabilities ?? []).map((v) => v.VulnerabilityID));
    expect(ids).toContain('CVE-2021-22945');
  });

  it(
    "scans its own images: the chart's Deployments get their reports, without CRITICAL findings",
    async () => {
      const resolve = createResolver(admin);
      expect((await admin.call('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status).toBe(201);
      const deployments = SERVICES.map((s) => findObject(objects, 'Deployment', `${full}-${s}`));
      for (const d of deployments) {
        const r = await serverSideApply(admin, resolve, d, { dryRun: false });
        expect([200, 201], `${d.metadata.name}: ${r.text}`).toContain(r.status);
      }
      const findings: Record<string, unknown>[] = [];
      for (const d of deployments) {
        const rs = await waitFor(`the current ReplicaSet of ${d.metadata.name}`, async () => {
          const list = (await admin.call('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`)).json() as {
            items: { metadata: { name: string; uid: string; ownerReferences?: { name: string }[] } }[];
          };
          return list.items.find((x) => x.metadata.ownerReferences?.some((o) => o.name === d.metadata.name))
            ?.metadata;
        });
        const pod = podSpecOf(d);
        const containers = [...(pod.initContainers ?? []), ...pod.containers];
        const owned = <T extends { metadata: { ownerReferences?: { uid: string }[] } }>(plural: string) =>
          waitFor(
            `${plural} of ${rs.name}`,
            async () => {
              const list = (
                await admin.call('GET', `/apis/aquasecurity.github.io/v1alpha1/namespaces/${ns}/${plural}`)
              ).json() as { items: T[] };
              return list.items.filter((x) => x.metadata.ownerReferences?.some((o) => o.uid === rs.uid));
            },
            SCAN_TIMEOUT_MS,
          );
        const vulns = await waitFor(
          `a VulnerabilityReport for each of ${containers.map((c) => c.name).join(', ')}`,
          async () => {
            const list = await owned<VulnReport>('vulnerabilityreports');
            return list.length === containers.length ? list : undefined;
          },
          SCAN_TIMEOUT_MS,
        );
        const [config] = await waitFor(
          `the ConfigAuditReport of ${rs.name}`,
          async () => {
            const list = await owned<ConfigReport>('configauditreports');
            return list.length === 1 ? list : undefined;
          },
          SCAN_TIMEOUT_MS,
        );
        for (const v of vulns) {
          const service = d.metadata.name.replace(`${full}-`, '');
          const container = v.metadata.labels?.['trivy-operator.container.name'] ?? v.metadata.name;
          expect(v.report.artifact.repository, container).toBe(`fleetscan-${service}`);
          expect(v.report.artifact.tag, container).toBe(run);
          expect(v.report.os?.family, container).toBe('debian');
          expect(v.report.os?.name, container).toMatch(/^12\./);
          expect(v.report.summary.criticalCount, `${container}: ${JSON.stringify(v.report.summary)}`).toBe(0);
          findings.push({
            workload: d.metadata.name,
            container,
            image: `fleetscan-${service}`,
            os: `${v.report.os?.family} ${v.report.os?.name}`,
            summary: v.report.summary,
            vulnerabilities: v.report.vulnerabilities.map(
              (x) => `${x.vulnerabilityID} ${x.severity} ${x.resource} ${x.installedVersion}`,
            ),
          });
        }
        expect(config?.report.summary.criticalCount, JSON.stringify(config?.report.summary)).toBe(0);
        findings.push({
          workload: d.metadata.name,
          configAudit: config?.report.summary,
          failed: config?.report.checks
            .filter((c) => !c.success)
            .map((c) => `${c.checkID} ${c.severity} ${c.title}`),
        });
      }
      // Kept next to the manifest for deploy/images/README.md; .ci/images prints it.
      await writeFile(
        join(dirname(manifestPath ?? ''), 'findings.json'),
        `${JSON.stringify({ at: new Date().toISOString(), findings }, null, 2)}\n`,
      );
      // One trivy pull and analysis per image, by the containerised scanner's own bundled trivy.
      const metrics = await (await fetch(`${runningOf('scanner').url}/metrics`)).text();
      // Summed over the other labels (the requesting cluster's, for one).
      const imageRuns = [
        ...metrics.matchAll(/^fleetscan_scanner_trivy_runs_total\{[^}]*\btype="image"[^}]*\} (\d+)$/gm),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(imageRuns).toBeGreaterThanOrEqual(SERVICES.length);
    },
    15 * 60_000,
  );
});

function envFlags(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}

async function waitContainerReady(podman: Podman, r: Running): Promise<void> {
  try {
    await waitFor(
      `${r.name} /readyz`,
      async () => {
        const state = await podman.ok(['inspect', '--format', '{{.State.Status}}', r.name]);
        if (state.trim() !== 'running') throw new Error(`${r.name} is ${state.trim()}`);
        const res = await fetch(`${r.url}/readyz`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      120_000,
    );
  } catch (err) {
    const logs = await podman.run(['logs', '--tail', '30', r.name]);
    throw new Error(`${r.name} not ready; its log:\n${logs.stdout}${logs.stderr}`, { cause: err });
  }
}

interface ComposeProject {
  services: Record<
    string,
    {
      image?: string;
      build?: { context: string; dockerfile: string; target?: string };
      healthcheck?: { test?: string[] };
    }
  >;
}

/** docker-compose.yml as compose-spec's reference loader resolves it, with the default variables. */
async function composeConfig(): Promise<ComposeProject> {
  const bin = locateComposeConfig(loadStackConfig().cacheDir);
  const res = await execa(bin, ['-f', join(repoRoot, 'docker-compose.yml')], {
    env: { HOME: process.env.HOME ?? '/root', PATH: process.env.PATH ?? '' },
    extendEnv: false,
  });
  return JSON.parse(res.stdout) as ComposeProject;
}
