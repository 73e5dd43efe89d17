/** A Kubernetes resource type as the API addresses it: group ('' for core), version, plural. */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** Cluster-wide collection path: /api/v1/pods or /apis/apps/v1/replicasets. */
export function resourcePath(r: ResourceRef): string {
  return r.group ? `/apis/${r.group}/${r.version}/${r.plural}` : `/api/${r.version}/${r.plural}`;
}

/** apiVersion as objects carry it: v1 or apps/v1. */
export function apiVersionOf(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** For logs and readiness reasons: pods, replicasets.apps. */
export function resourceName(r: ResourceRef): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}
