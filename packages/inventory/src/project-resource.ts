import type { KubeObject } from '@fleetscan/kube';
import { apiVersionOf } from '@fleetscan/kube';
import { computeSpecHash } from '@fleetscan/reports';
import type { AuditManifest, Owner } from './owner.ts';
import { RESOURCE_KIND_INFO, type ResourceKind } from './resource-kinds.ts';

/**
 * What the inventory keeps of an audited non-workload object (a Service, a ClusterRole, …): its
 * identity, labels, a hash of what its audit reads, and — unless the kind is fetched when audited —
 * that manifest itself.
 */

/**
 * Annotations a check never reads and that would make the hash change for nothing: kubectl's copy
 * of the whole last applied object (often the largest field of a small object).
 */
const DROPPED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
/**
 * trivy-operator skips leader-election objects (predicate.IsLeaderElectionResource): an old-style
 * ConfigMap lock renews this annotation every few seconds, which would mean an audit each time.
 */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** Fields of the object that are not its configuration. */
const NOT_AUDITED = new Set(['apiVersion', 'kind', 'metadata', 'status']);
const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The object as `trivy config` should see it: apiVersion, kind, name, namespace, labels,
 * annotations and every configuration field (spec, data, rules, roleRef, …) exactly as the API
 * server sent them; nothing the server adds (uid, resourceVersion, managedFields, status, …).
 */
export function auditManifest(kind: ResourceKind, obj: KubeObject): AuditManifest | undefined {
  const meta = obj.metadata;
  if (!meta?.name) return undefined;
  const metadata: AuditManifest['metadata'] = { name: meta.name };
  if (meta.namespace) metadata.namespace = meta.namespace;
  if (meta.labels && Object.keys(meta.labels).length > 0) metadata.labels = meta.labels;
  const annotations = Object.entries(meta.annotations ?? {}).filter(([k]) => !DROPPED_ANNOTATIONS.has(k));
  if (annotations.length > 0) metadata.annotations = Object.fromEntries(annotations);
  const manifest: AuditManifest = {
    apiVersion: obj.apiVersion || apiVersionOf(RESOURCE_KIND_INFO[kind].resource),
    kind,
    metadata,
  };
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!NOT_AUDITED.has(k) && v !== undefined) manifest[k] = v;
  }
  return manifest;
}

/** The owner view of an audited object; undefined for one not audited (terminating, a leader lock). */
export function projectResource(kind: ResourceKind, obj: KubeObject): Owner | undefined {
  const meta = obj.metadata;
  if (!meta?.name || !meta.uid || (meta as { deletionTimestamp?: unknown }).deletionTimestamp)
    return undefined;
  if (meta.annotations?.[LEADER_ANNOTATION] !== undefined) return undefined;
  const manifest = auditManifest(kind, obj);
  if (!manifest) return undefined;
  const owner: Owner = {
    kind,
    apiVersion: manifest.apiVersion,
    // Cluster-scoped objects have none: their reports are the Cluster kinds, named by name alone.
    namespace: RESOURCE_KIND_INFO[kind].scope === 'Cluster' ? '' : (meta.namespace ?? ''),
    name: meta.name,
    uid: meta.uid,
    labels: meta.labels && Object.keys(meta.labels).length > 0 ? meta.labels : EMPTY_LABELS,
    specHash: computeSpecHash(manifest),
    containers: [],
  };
  if (!RESOURCE_KIND_INFO[kind].fetchedWhenAudited) owner.manifest = manifest;
  return owner;
}

/** A `project` function for createReflector. */
export function resourceProjector(kind: ResourceKind): (obj: KubeObject) => Owner | undefined {
  return (obj) => projectResource(kind, obj);
}
