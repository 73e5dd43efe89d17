import { apiVersionOf, type KubeObject } from '@fleetscan/kube';
import { computeSpecHash } from '@fleetscan/reports';
import { isReportOwner } from './owner-rules.ts';
import { projectWorkload } from './project-workload.ts';
import { type ContainerRef, WORKLOAD_RESOURCES, type Workload, type WorkloadKind } from './workload.ts';

/** A report owner as both services see it: identity, pod spec hash and containers. */
export interface Owner {
  kind: Workload['kind'];
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  labels: Readonly<Record<string, string>>;
  specHash: string;
  containers: readonly ContainerRef[];
  /** container name → digest reported by the kubelet, when any pod of the owner has one. */
  imageIDs?: Readonly<Record<string, string>>;
  /** The workload as a minimal manifest, for config audits. */
  workload: Workload;
}

export const ownerKey = (o: { kind: string; namespace: string; name: string }) =>
  `${o.kind}/${o.namespace}/${o.name}`;

const hashCache = new WeakMap<object, string>();

/** The owner view of a workload that is a report owner; the spec hash is memoised per projection. */
export function toOwner(w: Workload): Owner {
  let specHash = w.podSpec ? hashCache.get(w.podSpec) : '';
  if (specHash === undefined && w.podSpec) {
    specHash = computeSpecHash(w.podSpec);
    hashCache.set(w.podSpec, specHash);
  }
  return {
    kind: w.kind,
    apiVersion: w.apiVersion || apiVersionOf(WORKLOAD_RESOURCES[w.kind]),
    namespace: w.namespace,
    name: w.name,
    uid: w.uid,
    labels: w.labels,
    specHash: specHash ?? '',
    containers: w.containers,
    workload: w,
  };
}

/** A reflector projection keeping report owners only (trivy-operator's rules, see isReportOwner). */
export function ownerProjector(kind: WorkloadKind): (obj: KubeObject) => Owner | undefined {
  return (obj) => {
    const w = projectWorkload(kind, obj);
    return w && isReportOwner(w) ? toOwner(w) : undefined;
  };
}

/**
 * A minimal manifest of the owner for `trivy config`: what the checks read
 * (kind, namespace, labels, the pod template) and nothing the cluster added.
 */
export function ownerManifest(o: Owner): {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
} {
  const spec = o.workload.podSpec ?? {};
  const metadata = {
    name: o.name,
    namespace: o.namespace,
    ...(Object.keys(o.labels).length ? { labels: { ...o.labels } } : {}),
  };
  const template = { metadata: Object.keys(o.labels).length ? { labels: { ...o.labels } } : {}, spec };
  switch (o.kind) {
    case 'Pod':
      return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec };
    case 'CronJob':
      return {
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata,
        spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } },
      };
    case 'Job':
      return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec: { template } };
    default:
      return {
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata,
        spec: { selector: { matchLabels: { ...o.labels } }, template },
      };
  }
}
