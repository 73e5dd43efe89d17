import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME_PATTERN } from '@fleetscan/bus';
import { SERVICE_NODE_FLAGS } from '@fleetscan/demo';
import { repoRoot } from '@fleetscan/stack';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_CLUSTER, chartPermissions, composeNatsConf } from '../support/chart-permissions.ts';
import { chartDir } from '../support/deploy-helm.ts';
import { definedMetrics, metricsIn, SERVICES } from '../support/deploy-metrics.ts';

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
        build?: { context: string; dockerfile: string };
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

  it('runs NATS with JetStream and the three services', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
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
      const service = /deploy\/images\/(\w+)\/Dockerfile/.exec(s.build.dockerfile)?.[1];
      expect(s.image, name).toMatch(new RegExp(`^fleetscan-${service}:`));
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

describe.each(SERVICES)('deploy/images/%s/Dockerfile', (service) => {
  const text = read('deploy', 'images', service, 'Dockerfile');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages.at(-1) ?? '';

  it('is multi-stage on a pinned small base, with production dependencies of this service only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain(`ARG NODE_VERSION=${versions.NODE_VERSION?.replace(/^v/, '')}`);
    expect(final).toMatch(/^node:\$\{NODE_VERSION\}-alpine\n/);
    expect(text).toContain(`npm ci --omit=dev --workspace services/${service} `);
    expect(final).not.toMatch(/npm (ci|install)/);
  });

  it('runs as a numeric non-root user, the entrypoint the chart and compose rely on', () => {
    expect(final).toMatch(/^USER 10001:10001$/m);
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(final)?.[1] ?? '[]';
    const [cmd, ...rest] = JSON.parse(entry) as string[];
    const main = rest.at(-1);
    expect(cmd).toBe('node');
    expect(rest.slice(0, -1)).toEqual(SERVICE_NODE_FLAGS[service]);
    expect(main).toBe(`services/${service}/src/main.ts`);
    expect(existsSync(join(repoRoot, main ?? ''))).toBe(true);
  });

  it('keeps every workspace package the service needs in its build context', () => {
    const ignore = read('deploy', 'images', service, 'Dockerfile.dockerignore');
    const excluded = [...ignore.matchAll(/^(packages\/[\w-]+)\/src$/gm)].map((m) => m[1]);
    const needed = [...workspaceClosure(`services/${service}`)];
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((d) => excluded.includes(d))).toEqual([]);
    expect(final).toContain('COPY packages/ ./packages/');
    expect(final).toContain(`COPY services/${service}/ ./services/${service}/`);
  });

  if (service === 'scanner') {
    it('carries the pinned trivy, built from the Go module proxy with GOEXPERIMENT=jsonv2, and trivy-db', () => {
      expect(text).toContain(`ARG TRIVY_VERSION=${versions.TRIVY_VERSION}`);
      expect(text).toMatch(/GOEXPERIMENT=jsonv2/);
      expect(text).toContain('go install -trimpath');
      expect(text).toContain(`"github.com/aquasecurity/trivy/cmd/trivy@\${TRIVY_VERSION}"`);
      expect(final).toContain('COPY --from=trivy /go/bin/trivy /usr/local/bin/trivy');
      expect(final).toContain('COPY --chmod=0755 deploy/images/scanner/trivy-db.sh /usr/local/bin/trivy-db');
    });
  }
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
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; query?: { query: string } | string }[] };
    };
    expect(dash.uid).toBe('fleetscan');
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
