/**
 * An object as the API server sends it (wire JSON), typed only as far as generic list/watch code
 * and projections need: identity, labels, annotations and owners. Everything else (spec, status,
 * a report's body) is read by the projection that needs it, from the untyped rest.
 *
 * Our own type rather than client-node's KubernetesObject, whose model types timestamps as Date
 * (the wire has strings) and whose import ties every user of this package to client-node's types.
 * Timestamps are left out on purpose so that this type stays assignable to client-node's, for tests
 * and tools that pass its objects in; read them as `unknown` where needed.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
