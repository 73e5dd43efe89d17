import type { KubeObject } from '@fleetscan/kube';
import { isReportOwner } from './owner-rules.ts';
import type {
  ContainerKind,
  ContainerRef,
  PodSpec,
  WireContainer,
  Workload,
  WorkloadKind,
} from './workload.ts';

/**
 * Projects a workload object from the API into what the inventory keeps of it (workload.ts),
 * dropping the pod spec of workloads that own no reports (owner-rules.ts).
 */

const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';
const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const NO_CONTAINERS: readonly ContainerRef[] = Object.freeze([]);

/** The pod template spec of a workload object of `kind` (the Pod's own spec for Pods). */
export function extractPodSpec(kind: WorkloadKind, obj: KubeObject): PodSpec | undefined {
  const spec = (obj as { spec?: Record<string, unknown> }).spec;
  switch (kind) {
    case 'Pod':
      return asObject(spec) as PodSpec | undefined;
    case 'CronJob':
      return asObject(dig(spec, 'jobTemplate', 'spec', 'template', 'spec')) as PodSpec | undefined;
    default:
      return asObject(dig(spec, 'template', 'spec')) as PodSpec | undefined;
  }
}

/** The pod spec kept in a projection; present for report owners. */
export function podSpecOf(w: Workload): PodSpec | undefined {
  return w.podSpec;
}

/** Containers, init containers and ephemeral containers of a pod spec, in that order. */
export function containersOf(spec: PodSpec | undefined): ContainerRef[] {
  if (!spec) return [];
  const out: ContainerRef[] = [];
  const add = (list: unknown, kind: ContainerKind) => {
    if (!Array.isArray(list)) return;
    for (const c of list as WireContainer[]) {
      if (typeof c?.name === 'string')
        out.push({ name: c.name, image: typeof c.image === 'string' ? c.image : '', kind });
    }
  };
  add(spec.containers, 'container');
  add(spec.initContainers, 'initContainer');
  add(spec.ephemeralContainers, 'ephemeralContainer');
  return out;
}

/** Projects a workload object; undefined for an object without name or uid. */
export function projectWorkload(kind: WorkloadKind, obj: KubeObject): Workload | undefined {
  const meta = obj.metadata;
  if (!meta?.name || !meta.uid) return undefined;
  const spec = (obj as { spec?: { replicas?: unknown } }).spec;
  const controller = meta.ownerReferences?.find((o) => o.controller === true);
  const revision = meta.annotations?.[DEPLOYMENT_REVISION];
  const w: Workload = {
    kind,
    apiVersion: obj.apiVersion ?? '',
    namespace: meta.namespace ?? '',
    name: meta.name,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion ?? '',
    labels: meta.labels && Object.keys(meta.labels).length > 0 ? meta.labels : EMPTY_LABELS,
    containers: NO_CONTAINERS,
  };
  if (controller) {
    w.controllerRef = {
      kind: controller.kind,
      name: controller.name,
      uid: controller.uid,
      apiVersion: controller.apiVersion,
    };
  }
  if (hasReplicas(kind) && typeof spec?.replicas === 'number') w.replicas = spec.replicas;
  if ((kind === 'ReplicaSet' || kind === 'Deployment') && revision) w.revision = revision;
  // A wire timestamp (a string); KubeObject leaves timestamps untyped.
  if ((meta as { deletionTimestamp?: unknown }).deletionTimestamp) w.terminating = true;
  const created = Date.parse(String((meta as { creationTimestamp?: unknown }).creationTimestamp ?? ''));
  if (!Number.isNaN(created)) w.createdAtMs = created;
  const podSpec = extractPodSpec(kind, obj);
  if (kind === 'Pod') {
    w.containers = containersOf(podSpec);
    const ids = imageIDsOf(obj);
    if (ids) w.imageIDs = ids;
  }
  if (isReportOwner(w)) {
    if (kind !== 'Pod') w.containers = containersOf(podSpec);
    if (podSpec) w.podSpec = podSpec;
  }
  return w;
}

/** A `project` function for createReflector. */
export function workloadProjector(kind: WorkloadKind): (obj: KubeObject) => Workload | undefined {
  return (obj) => projectWorkload(kind, obj);
}

function hasReplicas(kind: WorkloadKind): boolean {
  return (
    kind === 'ReplicaSet' ||
    kind === 'ReplicationController' ||
    kind === 'StatefulSet' ||
    kind === 'Deployment'
  );
}

interface ContainerStatus {
  name?: unknown;
  imageID?: unknown;
}

function imageIDsOf(obj: KubeObject): Record<string, string> | undefined {
  const status = (obj as { status?: Record<string, unknown> }).status;
  if (!status) return undefined;
  let out: Record<string, string> | undefined;
  for (const field of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    const list = status[field];
    if (!Array.isArray(list)) continue;
    for (const s of list as ContainerStatus[]) {
      if (typeof s?.name === 'string' && typeof s.imageID === 'string' && s.imageID) {
        out ??= {};
        out[s.name] = s.imageID;
      }
    }
  }
  return out;
}

function dig(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}
