import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStackConfig, locateTools, repoRoot } from '@fleetscan/stack';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';

export const chartDir = join(repoRoot, 'deploy', 'chart', 'fleetscan');

/** A rendered Kubernetes object, loosely typed: tests read what they check. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Helm {
  bin: string;
  version: string;
  /** The local stack's Kubernetes version: charts are rendered for the cluster they are applied to. */
  kubeVersion: string;
}

/** The pinned helm that .ci/bootstrap builds from the Go module proxy (HELM_VERSION in .ci/versions.env). */
export function locateHelm(): Helm {
  const cacheDir = loadStackConfig().cacheDir;
  const { versions } = locateTools(cacheDir);
  const version = versions.HELM_VERSION;
  const kubeVersion = versions.KUBE_VERSION;
  if (!version || !kubeVersion) throw new Error('HELM_VERSION or KUBE_VERSION missing from .ci/versions.env');
  const bin = join(cacheDir, 'bin', `helm-${version}`, 'helm');
  if (!existsSync(bin)) throw new Error(`helm not found at ${bin}; run \`bash .ci/bootstrap\` to build it`);
  return { bin, version, kubeVersion };
}

export class HelmError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(`${message}\n${stderr}`);
    this.name = 'HelmError';
    this.stderr = stderr;
  }
}

/** helm notes a symlink in the chart on every load; the chart's files/ links are deliberate. */
const SYMLINK_NOTE = /found symbolic link in path: .* Contents of linked file included and used/;

export interface Rendered {
  objects: K8sObject[];
  /** stderr lines other than the symlink notes (warnings about values, deprecations, ...). */
  warnings: string[];
}

/** `helm template` with the values given as a file (so nested values arrive exactly as written). */
export async function renderChart(
  helm: Helm,
  opts: { release: string; namespace: string; values: Record<string, unknown> },
): Promise<Rendered> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-helm-'));
  try {
    const valuesFile = join(dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(opts.values));
    const res = await execa(
      helm.bin,
      [
        'template',
        opts.release,
        chartDir,
        '--namespace',
        opts.namespace,
        '--kube-version',
        helm.kubeVersion,
        '--values',
        valuesFile,
      ],
      { reject: false, env: { HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir } },
    );
    const stderrLines = res.stderr.split('\n').filter((l) => l.trim() && !SYMLINK_NOTE.test(l));
    if (res.exitCode !== 0)
      throw new HelmError(`helm template exited ${res.exitCode}`, stderrLines.join('\n'));
    // YAML 1.1, as the API machinery (sigs.k8s.io/yaml) reads manifests.
    const objects = parseAllDocuments(res.stdout, { version: '1.1' })
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null && typeof o === 'object');
    return { objects, warnings: stderrLines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `helm lint --strict`: fails on warnings too. Returns helm's output when it fails. */
export async function lintChart(
  helm: Helm,
  values: Record<string, unknown>,
): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-helm-'));
  try {
    const valuesFile = join(dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(values));
    const res = await execa(
      helm.bin,
      ['lint', '--strict', chartDir, '--kube-version', helm.kubeVersion, '--values', valuesFile],
      {
        reject: false,
        env: { HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir },
      },
    );
    return { ok: res.exitCode === 0, output: `${res.stdout}\n${res.stderr}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one object of `kind` named `name`, or a failing assertion that lists what there is. */
export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) {
    const have = objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart (have: ${have})`);
  }
  return o;
}

export const kindsOf = (objects: K8sObject[]) => [...new Set(objects.map((o) => o.kind))].sort();
