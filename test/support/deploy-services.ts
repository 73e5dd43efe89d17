import { join } from 'node:path';
import { freePort, type ManagedProcess, repoRoot, startProcess } from '@fleetscan/stack';
import { findObject, type K8sObject } from './deploy-helm.ts';
import { entrypointOf, readStages, stageNamed } from './dockerfile.ts';

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  [field: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  volumes?: Record<string, unknown>[];
  [field: string]: unknown;
}

export function podSpecOf(workload: K8sObject): PodSpec {
  const spec = workload.spec as { template?: { spec?: PodSpec } } | undefined;
  const pod = spec?.template?.spec;
  if (!pod) throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  return pod;
}

export function containerOf(workload: K8sObject, name: string): Container {
  const pod = podSpecOf(workload);
  const c = [...pod.containers, ...(pod.initContainers ?? [])].find((x) => x.name === name);
  if (!c) throw new Error(`${workload.kind}/${workload.metadata.name} has no container ${name}`);
  return c;
}

/**
 * A container's environment as the kubelet would build it from the rendered objects: literal values,
 * Secret and ConfigMap keys (from the same render), and the pod's name and namespace.
 */
export function resolveEnv(
  container: Container,
  objects: K8sObject[],
  pod: { name: string; namespace: string },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      out[e.name] = e.value ?? '';
    } else if (from.secretKeyRef) {
      const s = findObject(objects, 'Secret', from.secretKeyRef.name) as K8sObject & {
        data?: Record<string, string>;
      };
      const v = s.data?.[from.secretKeyRef.key];
      if (v === undefined) throw new Error(`Secret ${s.metadata.name} has no key ${from.secretKeyRef.key}`);
      out[e.name] = Buffer.from(v, 'base64').toString('utf8');
    } else if (from.configMapKeyRef) {
      const cm = findObject(objects, 'ConfigMap', from.configMapKeyRef.name) as K8sObject & {
        data?: Record<string, string>;
      };
      out[e.name] = cm.data?.[from.configMapKeyRef.key] ?? '';
    } else if (from.fieldRef?.fieldPath === 'metadata.name') {
      out[e.name] = pod.name;
    } else if (from.fieldRef?.fieldPath === 'metadata.namespace') {
      out[e.name] = pod.namespace;
    } else {
      throw new Error(`env ${e.name}: unsupported valueFrom ${JSON.stringify(from)}`);
    }
  }
  return out;
}

/** The image's ENTRYPOINT, read from its Dockerfile target (the runtime runs it from WORKDIR /app = repo root). */
export function dockerEntrypoint(service: string): string[] {
  return entrypointOf(stageNamed(readStages(), service));
}

export interface RunningService {
  name: string;
  url: string;
  process: ManagedProcess;
}

/**
 * Runs a fleetscan service the way its image does (`node services/<name>/src/main.ts` from the repo
 * root) with the environment the chart gives it, except what only makes sense in a pod: /metrics
 * moves from 0.0.0.0 to a free port on 127.0.0.1, and `overrides` (NATS URL, kubeconfig, paths).
 */
export async function startService(opts: {
  service: string;
  env: Record<string, string>;
  overrides: Record<string, string>;
  logDir: string;
}): Promise<RunningService> {
  const [cmd, ...args] = dockerEntrypoint(opts.service);
  if (cmd !== 'node') throw new Error(`unexpected entrypoint ${cmd}`);
  const port = await freePort();
  const env = {
    ...opts.env,
    ...opts.overrides,
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(port),
    PATH: process.env.PATH ?? '',
  };
  const proc = startProcess({
    name: opts.service,
    command: process.execPath,
    args,
    cwd: repoRoot,
    env,
    logFile: join(opts.logDir, `${opts.service}.log`),
    dieWithParent: true,
  });
  return { name: opts.service, url: `http://127.0.0.1:${port}`, process: proc };
}

/** Waits for /readyz, failing early with the log tail if the process exits. */
export async function waitServiceReady(s: RunningService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void s.process.exited.then(() => {
    exited = true;
  });
  let last = '';
  while (Date.now() < deadline && !exited) {
    const r = await fetch(`${s.url}/readyz`).then(
      async (res) => ({ ok: res.ok, text: await res.text() }),
      (err: unknown) => ({ ok: false, text: String(err) }),
    );
    if (r.ok) return;
    last = r.text;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(
    `${s.name} ${exited ? 'exited' : 'not ready'} (${last.trim()}); log ${s.process.logFile}:\n${await s.process.tail(20)}`,
  );
}
