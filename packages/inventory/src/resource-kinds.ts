import type { ResourceRef } from '@fleetscan/kube';
import { WORKLOAD_KINDS, type WorkloadKind } from './workload.ts';

export interface ResourceKindInfo {
  readonly resource: ResourceRef;
  readonly scope: 'Namespaced' | 'Cluster';
  /**
   * The object can be large (a ConfigMap's data is up to 1 MiB; a CRD's schema often hundreds of
   * KiB): the inventory keeps its hash, not its manifest, and the audit reads it again when asked.
   */
  readonly fetchedWhenAudited?: true;
}

const RBAC = 'rbac.authorization.k8s.io';
const NETWORKING = 'networking.k8s.io';
/** A kind's entry: its API group ('' for core), plural and scope, all served as v1. */
const kind = (
  group: string,
  plural: string,
  scope: ResourceKindInfo['scope'],
  fetchedWhenAudited?: true,
): ResourceKindInfo => ({
  resource: { group, version: 'v1', plural },
  scope,
  ...(fetchedWhenAudited && { fetchedWhenAudited }),
});

/**
 * The kinds besides workloads that fleetscan audits, as trivy-operator's config audit does
 * (pkg/configauditreport/controller/resource.go; kube.IsValidK8sKind), plus PersistentVolume and
 * PersistentVolumeClaim, which trivy-operator's chart lists in its default supportedConfigAuditKinds.
 * Each object is its own report owner: it owns one audit report (see @fleetscan/reports
 * auditReports) and has no containers.
 */
export const RESOURCE_KIND_INFO = {
  Service: kind('', 'services', 'Namespaced'),
  ConfigMap: kind('', 'configmaps', 'Namespaced', true),
  Role: kind(RBAC, 'roles', 'Namespaced'),
  RoleBinding: kind(RBAC, 'rolebindings', 'Namespaced'),
  NetworkPolicy: kind(NETWORKING, 'networkpolicies', 'Namespaced'),
  Ingress: kind(NETWORKING, 'ingresses', 'Namespaced'),
  ResourceQuota: kind('', 'resourcequotas', 'Namespaced'),
  LimitRange: kind('', 'limitranges', 'Namespaced'),
  PersistentVolumeClaim: kind('', 'persistentvolumeclaims', 'Namespaced'),
  ClusterRole: kind(RBAC, 'clusterroles', 'Cluster'),
  ClusterRoleBinding: kind(RBAC, 'clusterrolebindings', 'Cluster'),
  CustomResourceDefinition: kind('apiextensions.k8s.io', 'customresourcedefinitions', 'Cluster', true),
  PersistentVolume: kind('', 'persistentvolumes', 'Cluster'),
} as const satisfies Record<string, ResourceKindInfo>;

export type ResourceKind = keyof typeof RESOURCE_KIND_INFO;
/** The kinds of RESOURCE_KIND_INFO, in its order. */
export const RESOURCE_KINDS = Object.keys(RESOURCE_KIND_INFO) as readonly ResourceKind[];

/** Every kind that can own reports: workloads (with their containers) and audited resources. */
export type OwnerKind = WorkloadKind | ResourceKind;

export function isResourceKind(kind: string): kind is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(kind);
}

/** trivy-operator's alias for every workload kind in supportedConfigAuditKinds. */
export const WORKLOAD_ALIAS = 'Workload';

/** The kinds `supportedConfigAuditKinds` may name. */
export const AUDIT_KIND_NAMES: readonly string[] = [WORKLOAD_ALIAS, ...WORKLOAD_KINDS, ...RESOURCE_KINDS];

/**
 * trivy-operator's default supportedConfigAuditKinds (its Helm chart's value; its docs still list
 * it without the two PersistentVolume kinds).
 */
export const DEFAULT_AUDIT_KINDS: readonly string[] = [
  'Workload',
  'Service',
  'Role',
  'ClusterRole',
  'NetworkPolicy',
  'Ingress',
  'LimitRange',
  'ResourceQuota',
  'PersistentVolume',
  'PersistentVolumeClaim',
];

/**
 * The kinds a supportedConfigAuditKinds list names, `Workload` standing for every workload kind
 * (trivy-operator's utils.MapKinds). Unknown names are the caller's to reject.
 */
export function expandAuditKinds(names: readonly string[]): {
  workloads: WorkloadKind[];
  resources: ResourceKind[];
} {
  const set = new Set<string>();
  for (const n of names) {
    if (n === WORKLOAD_ALIAS) for (const k of WORKLOAD_KINDS) set.add(k);
    else set.add(n);
  }
  return {
    workloads: WORKLOAD_KINDS.filter((k) => set.has(k)),
    resources: RESOURCE_KINDS.filter((k) => set.has(k)),
  };
}
