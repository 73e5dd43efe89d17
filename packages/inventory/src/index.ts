/**
 * @fleetscan/inventory: which workloads own reports (trivy-operator's owner rules), the other
 * objects audited (Services, Roles, ClusterRoles, …), and a cluster's report owners and existing
 * reports kept current by supervised watches; shared by watcher and writer.
 */

export { createManifestSource, type ManifestSource } from './fetch-manifest.ts';
export { createInterner, type Interner } from './interner.ts';
export {
  createInventory,
  DEFAULT_REPORT_KINDS,
  type Inventory,
  type InventoryEvents,
  OWNER_KINDS,
} from './inventory.ts';
export { type AuditManifest, type Owner, ownerKey, ownerManifest, toOwner } from './owner.ts';
export { isBuiltInController, isReportOwner, type OwnerContext, reportOwnerRef } from './owner-rules.ts';
export { auditManifest, projectResource, resourceProjector } from './project-resource.ts';
export {
  containersOf,
  extractPodSpec,
  podSpecOf,
  projectWorkload,
  workloadProjector,
} from './project-workload.ts';
export {
  type CheckDetail,
  type OSDetail,
  type ReportDetail,
  type ReportDetailOptions,
  reportDetailProjector,
  type SecretDetail,
  type VulnerabilityDetail,
} from './report-detail.ts';
export { type ReportRef, reportProjector } from './report-ref.ts';
export {
  AUDIT_KIND_NAMES,
  DEFAULT_AUDIT_KINDS,
  expandAuditKinds,
  isResourceKind,
  type OwnerKind,
  RESOURCE_KIND_INFO,
  RESOURCE_KINDS,
  type ResourceKind,
  type ResourceKindInfo,
  WORKLOAD_ALIAS,
} from './resource-kinds.ts';
export {
  type ContainerKind,
  type ContainerRef,
  type ControllerRef,
  isWorkloadKind,
  type PodSpec,
  type WireContainer,
  WORKLOAD_KINDS,
  WORKLOAD_RESOURCES,
  type Workload,
  type WorkloadKind,
} from './workload.ts';
