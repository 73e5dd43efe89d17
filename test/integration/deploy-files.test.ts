import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_NAME_PATTERN } from '@fleetscan/bus';
import { SERVICE_NODE_FLAGS } from '@fleetscan/demo';
import { loadStackConfig, locateComposeConfig, repoRoot } from '@fleetscan/stack';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_CLUSTER, chartPermissions, composeNatsConf } from '../support/chart-permissions.ts';
import { chartDir } from '../support/deploy-helm.ts';
import { definedMetrics, metricsIn, SERVICES } from '../support/deploy-metrics.ts';
import { DOCKERFILE, entrypointOf, readStages, stageNamed } from '../support/dockerfile.ts';

// The files around the chart: compose, Dockerfiles, dashboard, the chart's links to deploy/, and the
// versions they pin, checked against what exists in the repository.

const versions = inject('stack').versions;
const read = (...p: string[]) => readFileSync(join(repoRoot, ...p), 'utf8');

/** @fleetscan/* workspaces a workspace depends on, transitively. */
function workspaceClosure(start: string): Set<string> {
  const dirs = new Map<string, string>();
  for (const top of ['packages', 'services']) {
    for (const d of readdirSync(join(repoRoot, top))) {
      const f = join(repoRoot, top, d, 'package.json');
      if (existsSync(f))
        dirs.set((JSON.parse(readFileSync(f, 'utf8')) as { name: string }).name, `${top}/${d}`);
    }
  }
  const seen = new Set<string>();
  const visit = (dir: string) => {
    const pkg = JSON.parse(read(dir, 'package.json')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const d = dirs.get(dep);
      if (d && !seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(start);
  return seen;
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as {
    services: Record<
      string,
      {
        image?: string;
        build?: { context: string; dockerfile: string; target?: string };
        container_name?: string;
        ports?: string[];
        volumes?: string[];
        environment?: Record<string, string>;
        command?: string[];
        entrypoint?: string[];
        depends_on?: Record<string, unknown>;
      }
    >;
    volumes: Record<string, unknown>;
  };

  it('runs NATS with JetStream, the three services and the fleet view', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'fleetview',
      'nats',
      'scanner',
      'trivy-db',
      'watcher',
      'writer',
    ]);
    expect(compose.services.nats?.image).toBe(`nats:${versions.NATS_VERSION?.replace(/^v/, '')}-alpine`);
  });

  it('builds from Dockerfiles and a context that exist', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.build) continue;
      expect(existsSync(join(repoRoot, s.build.context)), name).toBe(true);
      expect(
        existsSync(join(repoRoot, s.build.context, s.build.dockerfile)),
        `${name} ${s.build.dockerfile}`,
      ).toBe(true);
      expect(s.build.dockerfile, name).toBe(DOCKERFILE);
      expect(SERVICES, name).toContain(s.build.target);
      expect(s.image, name).toMatch(new RegExp(`^fleetscan-${s.build.target}:`));
    }
    for (const name of [...SERVICES, 'trivy-db']) expect(compose.services[name]?.build, name).toBeDefined();
  });

  it('lets the scanner scale: no container name, no host port', () => {
    const scanner = compose.services.scanner;
    expect(scanner?.container_name).toBeUndefined();
    expect(scanner?.ports).toBeUndefined();
    for (const s of Object.values(compose.services)) expect(s.container_name).toBeUndefined();
  });

  it('publishes host ports on 127.0.0.1 only', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('mounts named volumes that are declared, and the host kubeconfig read-only', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.replace(/:(ro|rw)$/, '').replace(/:[^:]+$/, '');
        if (source.startsWith('./')) {
          expect(existsSync(join(repoRoot, source)), `${name} mounts ${source}`).toBe(true);
          expect(v, name).toMatch(/:ro$/);
        } else if (source.startsWith('${')) {
          expect(v, name).toMatch(
            /^\$\{KUBECONFIG_FILE:-\$\{HOME\}\/\.kube\/config\}:\/etc\/fleetscan\/kubeconfig:ro$/,
          );
          expect(s.environment?.KUBECONFIG, name).toBe('/etc/fleetscan/kubeconfig');
        } else {
          expect(Object.keys(compose.volumes), `${name} volume ${source}`).toContain(source);
        }
      }
    }
  });

  it('runs NATS with authentication: its users and permissions are identities.ts, each service logs in as its own', () => {
    expect(read('deploy', 'compose', 'nats.conf')).toBe(composeNatsConf());
    expect(compose.services.nats?.command).toEqual(['nats-server', '--config', '/etc/nats/nats.conf']);
    const env = (s: string) => compose.services[s]?.environment ?? {};
    expect(env('scanner').NATS_USER).toBe('scanner');
    expect(env('fleetview').NATS_USER).toBe('fleetview');
    for (const s of ['watcher', 'writer']) {
      expect(env(s).CLUSTER_NAME, s).toBe(COMPOSE_CLUSTER);
      expect(env(s).NATS_USER, s).toBe(`${s}-${COMPOSE_CLUSTER}`);
    }
    for (const s of SERVICES) {
      const pw = `NATS_${s.toUpperCase()}_PASSWORD`;
      expect(env(s).NATS_PASSWORD, s).toBe(env('nats')[pw]);
    }
  });

  it('uses only variables with defaults (or HOME), each documented at the top', () => {
    const header = text.split('\nname:')[0] ?? '';
    const vars = [...text.matchAll(/\$\{(\w+)(:-)?/g)].map((m) => ({ name: m[1] ?? '', hasDefault: !!m[2] }));
    expect(vars.length).toBeGreaterThan(0);
    for (const v of vars) {
      if (v.name === 'HOME') continue;
      expect(v.hasDefault, `\${${v.name}} needs a default`).toBe(true);
      expect(header, `${v.name} documented`).toContain(v.name);
    }
  });

  it('sets only environment variables the programs read', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const source =
        name === 'trivy-db'
          ? read('deploy', 'images', 'scanner', 'trivy-db.sh')
          : name === 'nats'
            ? read('deploy', 'compose', 'nats.conf')
            : (SERVICES as readonly string[]).includes(name)
              ? read('services', name, 'src', 'config.ts') + read('packages', 'bus', 'src', 'nats-config.ts')
              : '';
      for (const key of Object.keys(s.environment ?? {}))
        expect(source, `${name} ${key}`).toMatch(new RegExp(`\\b${key}\\b`));
    }
    expect(compose.services['trivy-db']?.entrypoint).toEqual(['trivy-db', 'once']);
    expect(compose.services.scanner?.depends_on).toHaveProperty('trivy-db');
  });
});

describe("docker-compose.yml, as compose-spec's reference loader reads it", () => {
  const bin = locateComposeConfig(loadStackConfig().cacheDir);
  const load = (file: string, env: Record<string, string> = {}) =>
    execa(bin, ['-f', file], {
      env: { HOME: '/home/someone', PATH: process.env.PATH ?? '', ...env },
      extendEnv: false,
      reject: false,
    });
  interface Project {
    name: string;
    services: Record<string, { image?: string; build?: { dockerfile: string; target?: string } }>;
  }

  it('is valid (schema and consistency, what `docker compose config` checks) and builds the images it names', async () => {
    const res = await load(join(repoRoot, 'docker-compose.yml'));
    expect(res.exitCode, res.stderr).toBe(0);
    const project = JSON.parse(res.stdout) as Project;
    expect(project.name).toBe('fleetscan');
    for (const service of SERVICES) {
      expect(project.services[service]?.image).toBe(`fleetscan-${service}:dev`);
      expect(project.services[service]?.build).toMatchObject({ dockerfile: DOCKERFILE, target: service });
    }
    expect(project.services['trivy-db']?.image).toBe('fleetscan-scanner:dev');
  });

  it('takes the image tag from FLEETSCAN_TAG', async () => {
    const res = await load(join(repoRoot, 'docker-compose.yml'), { FLEETSCAN_TAG: '1.2.3' });
    const project = JSON.parse(res.stdout) as Project;
    for (const service of SERVICES)
      expect(project.services[service]?.image).toBe(`fleetscan-${service}:1.2.3`);
  });

  it('refuses a file the specification does not allow', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-compose-'));
    try {
      const file = join(dir, 'docker-compose.yml');
      await writeFile(file, read('docker-compose.yml').replace('read_only: true', 'read_onyl: true'));
      const res = await load(file);
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toMatch(/read_onyl/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/images/Dockerfile', () => {
  const text = read(DOCKERFILE);
  const stages = readStages();
  /** `${NAME}`, a build argument as the Dockerfile refers to it. */
  const arg = (name: string) => `$\{${name}}`;
  const argDefault = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text)?.[1];

  it('pins Node and Go as .ci/versions.env does, FROM Debian images that BASE and GO_BASE can replace', () => {
    expect(argDefault('NODE_VERSION')).toBe(versions.NODE_VERSION?.replace(/^v/, ''));
    expect(argDefault('GO_VERSION')).toBe(versions.GO_VERSION);
    expect(argDefault('BASE')).toBe(`docker.io/library/node:\${NODE_VERSION}-${versions.DEBIAN_SUITE}-slim`);
    expect(argDefault('GO_BASE')).toBe(`docker.io/library/golang:\${GO_VERSION}-${versions.DEBIAN_SUITE}`);
    // Every stage starts from one of the two bases or from an earlier stage.
    const names = stages.map((s) => s.name);
    for (const [i, s] of stages.entries()) {
      expect([arg('BASE'), arg('GO_BASE'), ...names.slice(0, i)], s.name).toContain(s.from);
    }
  });

  it('reads the build context through its own ignore file, keeping every workspace package a service needs', () => {
    const ignore = read('deploy', 'images', 'Dockerfile.dockerignore');
    const excluded = [...ignore.matchAll(/^(packages\/[\w-]+)\/src$/gm)].map((m) => m[1]);
    for (const service of SERVICES) {
      const needed = [...workspaceClosure(`services/${service}`)];
      expect(needed.length).toBeGreaterThan(0);
      expect(
        needed.filter((d) => excluded.includes(d)),
        service,
      ).toEqual([]);
    }
    expect(stageNamed(stages, 'runtime').body).toContain('COPY packages/ ./packages/');
  });

  describe.each(SERVICES)('target %s', (service) => {
    const target = stageNamed(stages, service);

    it('is the shared runtime plus production dependencies of this service only', () => {
      expect(target.from).toBe('runtime');
      expect(stageNamed(stages, 'runtime').from).toBe(arg('BASE'));
      expect(target.body).toContain(`COPY --from=deps-${service} /app/ ./`);
      expect(stageNamed(stages, `deps-${service}`).body).toContain(
        `npm ci --omit=dev --workspace services/${service} `,
      );
      expect(target.body).toContain(`COPY services/${service}/ ./services/${service}/`);
      expect(`${stageNamed(stages, 'runtime').body}${target.body}`).not.toMatch(/npm (ci|install)/);
    });

    it('runs as a numeric non-root user, the entrypoint the chart and compose rely on', () => {
      expect(target.body).toMatch(/^USER 10001:10001$/m);
      const [cmd, ...rest] = entrypointOf(target);
      const main = rest.at(-1);
      expect(cmd).toBe('node');
      expect(rest.slice(0, -1)).toEqual(SERVICE_NODE_FLAGS[service]);
      expect(main).toBe(`services/${service}/src/main.ts`);
      expect(existsSync(join(repoRoot, main ?? ''))).toBe(true);
    });
  });

  it('gives the scanner the pinned trivy, built from the Go module proxy with GOEXPERIMENT=jsonv2, and trivy-db', () => {
    const trivy = stageNamed(stages, 'trivy');
    const scanner = stageNamed(stages, 'scanner');
    expect(trivy.from).toBe(arg('GO_BASE'));
    expect(trivy.body).toContain(`ARG TRIVY_VERSION=${versions.TRIVY_VERSION}`);
    expect(trivy.body).toMatch(/GOEXPERIMENT=jsonv2/);
    expect(trivy.body).toContain('go install -trimpath');
    expect(trivy.body).toContain(`"github.com/aquasecurity/trivy/cmd/trivy@\${TRIVY_VERSION}"`);
    expect(scanner.body).toContain('COPY --from=trivy /go/bin/trivy /usr/local/bin/trivy');
    expect(scanner.body).toContain(
      'COPY --chmod=0755 deploy/images/scanner/trivy-db.sh /usr/local/bin/trivy-db',
    );
  });

  it('gives the scanner the config audit worker, linking the pinned trivy and stamped with its version', () => {
    const auditor = stageNamed(stages, 'auditor');
    const scanner = stageNamed(stages, 'scanner');
    expect(auditor.from).toBe(arg('GO_BASE'));
    expect(auditor.body).toContain(`ARG TRIVY_VERSION=${versions.TRIVY_VERSION}`);
    expect(auditor.body).toMatch(/GOEXPERIMENT=jsonv2/);
    expect(auditor.body).toContain('COPY packages/trivy/go/auditor/ ./');
    expect(auditor.body).toContain(
      `-X github.com/aquasecurity/trivy/pkg/version/app.ver=${arg('TRIVY_VERSION#v')}`,
    );
    expect(scanner.body).toContain(
      'COPY --from=auditor /go/bin/fleetscan-auditor /usr/local/bin/fleetscan-auditor',
    );
    expect(scanner.body).toMatch(/AUDITOR_BIN=\/usr\/local\/bin\/fleetscan-auditor/);
    // The stamp must name the trivy the worker links: the checks compare their minimum version with it.
    const gomod = read('packages', 'trivy', 'go', 'auditor', 'go.mod');
    expect(gomod).toMatch(new RegExp(`^\\s*github\\.com/aquasecurity/trivy ${versions.TRIVY_VERSION}$`, 'm'));
  });
});

describe('the chart and its dashboards', () => {
  it('reads the CRDs and the dashboard through links into deploy/, so there is one copy of each', () => {
    expect(realpathSync(join(chartDir, 'files', 'crds'))).toBe(
      realpathSync(join(repoRoot, 'deploy', 'crds')),
    );
    expect(realpathSync(join(chartDir, 'files', 'fleetscan-dashboard.json'))).toBe(
      realpathSync(join(repoRoot, 'deploy', 'dashboards', 'fleetscan.json')),
    );
  });

  it('validates clusterName with the pattern the services use', () => {
    const schema = JSON.parse(read('deploy', 'chart', 'fleetscan', 'values.schema.json')) as {
      properties: { clusterName: { pattern: string } };
    };
    expect(schema.properties.clusterName.pattern).toBe(CLUSTER_NAME_PATTERN.source);
  });

  it("gives the chart's NATS users the permissions of identities.ts", () => {
    expect(JSON.parse(read('deploy', 'chart', 'fleetscan', 'files', 'nats-permissions.json'))).toEqual(
      chartPermissions(),
    );
  });

  it('pins the NATS image at the version the stack tests with', () => {
    const values = parse(read('deploy', 'chart', 'fleetscan', 'values.yaml')) as {
      nats: { bundled: { image: string } };
    };
    expect(values.nats.bundled.image).toBe(`nats:${versions.NATS_VERSION?.replace(/^v/, '')}-alpine`);
  });

  it("charts fleetscan's metrics and trivy-operator's report metrics, all of which exist", () => {
    const dash = JSON.parse(read('deploy', 'dashboards', 'fleetscan.json')) as {
      uid: string;
      panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; query?: { query: string } | string }[] };
    };
    expect(dash.uid).toBe('fleetscan');
    // Grafana keys panels by id: two with one id (as merges can make) show one of them.
    const ids = dash.panels.map((p) => p.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap(metricsIn));
    const defined = definedMetrics();
    expect([...used].filter((m) => !defined.has(m))).toEqual([]);
    for (const m of [
      'trivy_image_vulnerabilities',
      'trivy_resource_configaudits',
      'fleetscan_scanner_consumer_pending',
    ])
      expect(used, m).toContain(m);
    // Every metric a service defines is on the dashboard.
    expect([...defined].filter((m) => !used.has(m))).toEqual([]);
  });
});
