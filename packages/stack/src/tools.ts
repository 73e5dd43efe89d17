import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError, StackErrorCode } from './errors.ts';

/** The repository root, found from this file so it works from any cwd. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface Tools {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  natsServer: string;
  trivy: string;
  /** The config audit worker, trivy's checks linked as a library (packages/trivy/go/auditor). */
  auditor: string;
  dbfixture: string;
  dockerRegistry: string;
  /** Debian's prometheus and promtool, unpacked by .ci/bootstrap (dashboard and alert-rule tests). */
  prometheus: string;
  promtool: string;
  versions: Readonly<Record<string, string>>;
}

/** Parses .ci/versions.env, the one place versions are pinned. */
export function readVersions(file = join(repoRoot, '.ci', 'versions.env')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

/**
 * Locates the pinned binaries that .ci/bootstrap built into the cache. A
 * missing one is an error that says how to get it, not a silent fallback.
 */
export function locateTools(cacheDir: string): Tools {
  const v = readVersions();
  const bin = (dir: string, name: string) => {
    const p = join(cacheDir, 'bin', dir, name);
    if (!existsSync(p)) {
      throw new StackError(
        StackErrorCode.MissingBinary,
        name,
        `not found at ${p}; run \`bash .ci/bootstrap\` to build the pinned tools`,
      );
    }
    return p;
  };
  const dockerRegistry = '/usr/bin/docker-registry';
  if (!existsSync(dockerRegistry)) {
    throw new StackError(
      StackErrorCode.MissingBinary,
      'docker-registry',
      `not found at ${dockerRegistry}; run \`bash .ci/bootstrap\` (installs Debian's docker-registry)`,
    );
  }
  return {
    etcd: bin(`etcd-${v.ETCD_VERSION}`, 'etcd'),
    kubeApiserver: bin(`kube-${v.KUBE_VERSION}`, 'kube-apiserver'),
    kubeControllerManager: bin(`kube-${v.KUBE_VERSION}`, 'kube-controller-manager'),
    natsServer: bin(`nats-server-${v.NATS_VERSION}`, 'nats-server'),
    trivy: bin(`trivy-${v.TRIVY_VERSION}`, 'trivy'),
    auditor: bin(`auditor-${auditorVersion()}`, 'fleetscan-auditor'),
    dbfixture: bin(`dbfixture-${goSourceVersion('dbfixture')}`, 'dbfixture'),
    dockerRegistry,
    prometheus: bin(`prometheus-${v.PROMETHEUS_VERSION}`, 'prometheus'),
    promtool: bin(`prometheus-${v.PROMETHEUS_VERSION}`, 'promtool'),
    versions: v,
  };
}

/** Mirrors .ci/bootstrap: our own Go programs (packages/stack/go/<name>) are keyed by a hash of their sources. */
export function goSourceVersion(name: string): string {
  return sourcesHash(join(repoRoot, 'packages', 'stack', 'go', name));
}

/** Mirrors .ci/bootstrap: the config audit worker is keyed by the trivy it links and a hash of its sources. */
export function auditorVersion(): string {
  return `${readVersions().TRIVY_VERSION ?? ''}-${sourcesHash(join(repoRoot, 'packages', 'trivy', 'go', 'auditor'))}`;
}

/** sha256 of a Go module's top-level sources (*.go, go.mod, go.sum) in name order, 12 hex digits. */
function sourcesHash(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .map((f) => `./${f}`)
    .sort();
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

/**
 * compose-config (packages/stack/go/compose): compose-spec's reference loader, which checks and resolves
 * docker-compose.yml without a Docker engine. Separate from locateTools: the stack does not need it.
 */
export function locateComposeConfig(cacheDir: string): string {
  const p = join(cacheDir, 'bin', `compose-config-${goSourceVersion('compose')}`, 'compose-config');
  if (!existsSync(p)) {
    throw new StackError(
      StackErrorCode.MissingBinary,
      'compose-config',
      `not found at ${p}; run \`bash .ci/bootstrap\` to build the pinned tools`,
    );
  }
  return p;
}
