import type { KubeObject } from '@fleetscan/kube';
import { isKubeError, KubeErrorCode, type KubeTransport, resourcePath } from '@fleetscan/kube';
import { computeSpecHash } from '@fleetscan/reports';
import { type AuditManifest, type Owner, ownerManifest } from './owner.ts';
import { auditManifest } from './project-resource.ts';
import { isResourceKind, RESOURCE_KIND_INFO } from './resource-kinds.ts';

/** A GET is short: a slow API server delays one audit request, not the watcher. */
const READ_TIMEOUT_MS = 30_000;

export type ManifestSource = (owner: Owner) => Promise<AuditManifest | undefined>;

/**
 * The manifest to audit for an owner: the one the inventory holds, else (ConfigMaps, CRDs: kept
 * as a hash only, see resource-kinds.ts) the object read again from the API server. Undefined when
 * the object is gone, or has changed since the inventory saw it (its hash differs): its watch event
 * is on the way, and asking then audits what the cluster has.
 */
export function createManifestSource(kube: Pick<KubeTransport, 'getJson'>): ManifestSource {
  return async (owner) => {
    const kept = ownerManifest(owner);
    if (kept || !isResourceKind(owner.kind)) return kept;
    const base = resourcePath(RESOURCE_KIND_INFO[owner.kind].resource);
    const path = owner.namespace
      ? base.replace(/\/([^/]+)$/, `/namespaces/${encodeURIComponent(owner.namespace)}/$1`)
      : base;
    let obj: KubeObject;
    try {
      obj = (await kube.getJson(
        `${path}/${encodeURIComponent(owner.name)}`,
        {},
        AbortSignal.timeout(READ_TIMEOUT_MS),
      )) as KubeObject;
    } catch (err) {
      if (isKubeError(err, KubeErrorCode.NotFound)) return undefined;
      throw err;
    }
    if (obj.metadata?.uid !== owner.uid) return undefined;
    const manifest = auditManifest(owner.kind, obj);
    return manifest && computeSpecHash(manifest) === owner.specHash ? manifest : undefined;
  };
}
