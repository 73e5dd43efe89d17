import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { StackError, StackErrorCode } from './errors.ts';
import { repoRoot } from './tools.ts';

export const crdDir = join(repoRoot, 'deploy', 'crds');

/** Reads every CRD in deploy/crds, the one copy tests and the chart share. */
export async function readCrds(dir = crdDir): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: V1CustomResourceDefinition[] = [];
  for (const f of files) {
    // client-node's loader maps x-kubernetes-* keys to its model fields; a plain
    // YAML parse would have them silently dropped on serialisation.
    for (const doc of loadAllYaml(await readFile(join(dir, f), 'utf8'))) {
      const obj = doc as V1CustomResourceDefinition | null;
      if (obj?.kind === 'CustomResourceDefinition') out.push(obj);
    }
  }
  return out;
}

/** Creates (or replaces) the CRDs and waits until the API serves them. */
export async function installCrds(kc: KubeConfig, dir = crdDir, timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = await readCrds(dir);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      const live = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: live.metadata?.resourceVersion } },
      });
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (;;) {
      const live = await api.readCustomResourceDefinition({ name });
      if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        throw new StackError(
          StackErrorCode.NotReady,
          'crds',
          `${name} not Established after ${timeoutMs} ms`,
        );
      }
      await sleep(100);
    }
  }
  return crds.map((c) => c.metadata?.name ?? '');
}
