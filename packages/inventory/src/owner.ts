import { apiVersionOf, type KubeObject } from '@fleetscan/kube';
import { computeSpecHash } from '@fleetscan/reports';
import { isReportOwner } from './owner-rules.ts';
import { projectWorkload } from './project-workload.ts';
import type { OwnerKind } from './resource-kinds.ts';
import { type ContainerRef, WORKLOAD_RESOURCES, type Workload, type WorkloadKind } from './workload.ts';

/** A Kubernetes object as a config audit reads it (one file of a `trivy config` run). */
export interface AuditManifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Readonly<Record<string, string>>;
    annotations?: Readonly<Record<string, string>>;
  };
  [field: string]: unknown;
}

/**
 * A report owner as both services see it: identity, the hash of what its audit reads, and the
 * containers whose images are scanned. A workload (`workload` set) hashes and audits its pod spec;
 * any other audited object (project-resource.ts) has no containers, hashes its manifest, and keeps
 * that manifest unless its kind is read again when audited (ConfigMap, CustomResourceDefinition).
 */
export interface Owner {
  kind: OwnerKind;
  apiVersion: string;
  /** '' for cluster-scoped objects (ClusterRole, PersistentVolume, …). */
  namespace: string;
  name: string;
  uid: string;
  labels: Readonly<Record<string, string>>;
  specHash: string;
  containers: readonly ContainerRef[];
  /** container name → digest reported by the kubelet, when any pod of the owner has one. */
  imageIDs?: Readonly<Record<string, string>>;
  /** Workloads: what the owner rules decided on; its pod spec is what is audited. */
  workload?: Workload;
  /** Other audited objects: the manifest to audit, when kept (see ResourceKindInfo.fetchedWhenAudited). */
  manifest?: AuditManifest;
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
 * The manifest `trivy config` audits for the owner, when the inventory holds it: a workload's is
 * built minimal (kind, namespace, labels, the pod template; nothing the cluster added), another
 * object's is the one kept at projection. Undefined for kinds read again when audited
 * (fetch-manifest.ts).
 */
export function ownerManifest(o: Owner): AuditManifest | undefined {
  if (!o.workload) return o.manifest;
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
