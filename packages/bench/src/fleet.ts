/** The workloads the benchmark creates: pure planning, no API calls (see create.ts). */

export type FleetKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob';

export interface FleetWorkload {
  kind: FleetKind;
  namespace: string;
  name: string;
  containers: { name: string; image: string }[];
}

/** Label on every object the benchmark creates (and on pod templates, so ReplicaSets carry it). */
export const BENCH_LABEL = 'fleetscan.io/bench';

/**
 * N workloads over `images`, spread over namespaces of `perNamespace`: of every 20, 17 Deployments,
 * one StatefulSet, one DaemonSet and one CronJob; every fifth has `containers` containers. The
 * first containers walk the images in turn, so every image is used once N ≥ images.
 */
export function planFleet(opts: {
  owners: number;
  images: readonly string[];
  containers: number;
  perNamespace: number;
  prefix?: string;
}): FleetWorkload[] {
  const u = opts.images.length;
  if (u === 0) throw new Error('planFleet: no images');
  const prefix = opts.prefix ?? 'bench';
  const out: FleetWorkload[] = [];
  for (let i = 0; i < opts.owners; i++) {
    const slot = i % 20;
    const kind: FleetKind =
      slot === 5 ? 'StatefulSet' : slot === 10 ? 'DaemonSet' : slot === 15 ? 'CronJob' : 'Deployment';
    const count = i % 5 === 4 ? opts.containers : 1;
    const containers = Array.from({ length: count }, (_, j) => ({
      name: j === 0 ? 'app' : `side${j}`,
      image: opts.images[(i + j) % u] as string,
    }));
    out.push({
      kind,
      namespace: `${prefix}-${String(Math.floor(i / opts.perNamespace)).padStart(3, '0')}`,
      name: `w${String(i).padStart(5, '0')}`,
      containers,
    });
  }
  return out;
}

/**
 * Reports each workload's owner must end up with: one ConfigAuditReport, and unless only config
 * audits run, one VulnerabilityReport per container.
 */
export const expectedReports = (w: FleetWorkload, configOnly = false) =>
  1 + (configOnly ? 0 : w.containers.length);

/** The API object for a workload; `run` labels it and its pod template. */
export function workloadManifest(w: FleetWorkload, run: string): Record<string, unknown> {
  const labels = { app: w.name, [BENCH_LABEL]: run };
  const podSpec = {
    containers: w.containers.map((c, j) => ({
      name: c.name,
      image: c.image,
      ...(j === 0 ? { ports: [{ containerPort: 8080 }] } : {}),
      resources: { limits: { cpu: '250m', memory: '128Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
      // Half hardened, half not: the config audits find different things.
      ...(Number(w.name.slice(1)) % 2 === 0
        ? {
            securityContext: {
              runAsNonRoot: true,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
            },
          }
        : {}),
    })),
    ...(w.kind === 'CronJob' ? { restartPolicy: 'OnFailure' } : {}),
  };
  const template = { metadata: { labels }, spec: podSpec };
  const metadata = { name: w.name, namespace: w.namespace, labels };
  switch (w.kind) {
    case 'Deployment':
      return {
        apiVersion: 'apps/v1',
        kind: w.kind,
        metadata,
        spec: {
          replicas: 1,
          // No kubelet runs the benchmark's Pods: after the default 600 s the controller would mark
          // every Deployment ProgressDeadlineExceeded, a status write each in the middle of a long
          // run (8 500 at 10 000 owners), where a real fleet's Deployments are available instead.
          progressDeadlineSeconds: 2_147_483_647,
          selector: { matchLabels: { app: w.name } },
          template,
        },
      };
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind: w.kind,
        metadata,
        spec: { replicas: 1, serviceName: w.name, selector: { matchLabels: { app: w.name } }, template },
      };
    case 'DaemonSet':
      return {
        apiVersion: 'apps/v1',
        kind: w.kind,
        metadata,
        spec: { selector: { matchLabels: { app: w.name } }, template },
      };
    case 'CronJob':
      // Suspended: the CronJob owns the reports either way, and no Jobs pile up during the run.
      return {
        apiVersion: 'batch/v1',
        kind: w.kind,
        metadata,
        spec: { schedule: '17 3 * * *', suspend: true, jobTemplate: { spec: { template } } },
      };
  }
}

/**
 * The manifest the watcher would send for the workload's report owner (a Deployment's is its
 * ReplicaSet): what the floor's batched config audit reads.
 */
export function ownerAuditManifest(w: FleetWorkload, run: string): Record<string, unknown> {
  const m = workloadManifest(w, run) as {
    apiVersion: string;
    kind: string;
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
  };
  if (w.kind !== 'Deployment') return m;
  return { ...m, kind: 'ReplicaSet', metadata: { ...m.metadata, name: `${w.name}-5d4f8c7b9` } };
}
