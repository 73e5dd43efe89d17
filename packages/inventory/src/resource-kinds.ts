import type { ResourceRef } from '@fleetscan/kube';
import { WORKLOAD_KINDS, type WorkloadKind } from './workload.ts';

/**
 * The kinds besides workloads that fleetscan audits, as trivy-operator's config audit does
 * (pkg/configauditreport/controller/resource.go; kube.IsValidK8sKind), plus PersistentVolume and
 * PersistentVolumeClaim, which trivy-operator's chart lists in its default supportedConfigAuditKinds.
 * Each object is its own report owner: it owns one audit report (see @fleetscan/reports
 * auditReports) and has no containers.
 */
export const RESOURCE_KINDS = [
  'Service',
  'ConfigMap',
  'Role',
  'RoleBinding',
  'NetworkPolicy',
  'Ingress',
  'ResourceQuota',
  'LimitRange',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Every kind that can own reports: workloads (with their containers) and audited resources. */
export type OwnerKind = WorkloadKind | ResourceKind;

export interface ResourceKindInfo {
  readonly resource: ResourceRef;
  readonly scope: 'Namespaced' | 'Cluster';
  /**
   * The object can be large (a ConfigMap's data is up to 1 MiB; a CRD's schema often hundreds of
   * KiB): the inventory keeps its hash, not its manifest, and the audit reads it again when asked.
   */
  readonly fetchedWhenAudited?: true;
}

export const RESOURCE_KIND_INFO: Readonly<Record<ResourceKind, ResourceKindInfo>> = {
  Service: { resource: { group: '', version: 'v1', plural: 'services' }, scope: 'Namespaced' },
  ConfigMap: {
    resource: { group: '', version: 'v1', plural: 'configmaps' },
    scope: 'Namespaced',
    fetchedWhenAudited: true,
  },
  Role: {
    resource: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles' },
    scope: 'Namespaced',
  },
  RoleBinding: {
    resource: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings' },
    scope: 'Namespaced',
  },
  NetworkPolicy: {
    resource: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies' },
    scope: 'Namespaced',
  },
  Ingress: {
    resource: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' },
    scope: 'Namespaced',
  },
  ResourceQuota: { resource: { group: '', version: 'v1', plural: 'resourcequotas' }, scope: 'Namespaced' },
  LimitRange: { resource: { group: '', version: 'v1', plural: 'limitranges' }, scope: 'Namespaced' },
  PersistentVolumeClaim: {
    resource: { group: '', version: 'v1', plural: 'persistentvolumeclaims' },
    scope: 'Namespaced',
  },
  ClusterRole: {
    resource: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles' },
    scope: 'Cluster',
  },
  ClusterRoleBinding: {
    resource: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings' },
    scope: 'Cluster',
  },
  CustomResourceDefinition: {
    resource: { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' },
    scope: 'Cluster',
    fetchedWhenAudited: true,
  },
  PersistentVolume: { resource: { group: '', version: 'v1', plural: 'persistentvolumes' }, scope: 'Cluster' },
};

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
