/**
 * API coordinates of the trivy-operator report kinds fleetscan writes. They match trivy-operator's
 * CRDs (deploy/helm/crds/aquasecurity.github.io_*.yaml) and our copies in deploy/crds; crd.test.ts
 * checks every entry against deploy/crds.
 */

export const GROUP = 'aquasecurity.github.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export type ReportScope = 'Namespaced' | 'Cluster';

export interface ReportResource {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: ReportScope;
}

export const VULNERABILITY_REPORT = {
  kind: 'VulnerabilityReport',
  listKind: 'VulnerabilityReportList',
  plural: 'vulnerabilityreports',
  singular: 'vulnerabilityreport',
  shortNames: ['vuln', 'vulns'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

export const CONFIG_AUDIT_REPORT = {
  kind: 'ConfigAuditReport',
  listKind: 'ConfigAuditReportList',
  plural: 'configauditreports',
  singular: 'configauditreport',
  shortNames: ['configaudit', 'configaudits'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

export const CLUSTER_CONFIG_AUDIT_REPORT = {
  kind: 'ClusterConfigAuditReport',
  listKind: 'ClusterConfigAuditReportList',
  plural: 'clusterconfigauditreports',
  singular: 'clusterconfigauditreport',
  shortNames: ['clusterconfigaudit'],
  scope: 'Cluster',
} as const satisfies ReportResource;

export const EXPOSED_SECRET_REPORT = {
  kind: 'ExposedSecretReport',
  listKind: 'ExposedSecretReportList',
  plural: 'exposedsecretreports',
  singular: 'exposedsecretreport',
  shortNames: ['exposedsecret', 'exposedsecrets'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

export const RBAC_ASSESSMENT_REPORT = {
  kind: 'RbacAssessmentReport',
  listKind: 'RbacAssessmentReportList',
  plural: 'rbacassessmentreports',
  singular: 'rbacassessmentreport',
  shortNames: ['rbacassessment', 'rbacassessments'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

export const CLUSTER_RBAC_ASSESSMENT_REPORT = {
  kind: 'ClusterRbacAssessmentReport',
  listKind: 'ClusterRbacAssessmentReportList',
  plural: 'clusterrbacassessmentreports',
  singular: 'clusterrbacassessmentreport',
  shortNames: ['clusterrbacassessmentreport'],
  scope: 'Cluster',
} as const satisfies ReportResource;

export const INFRA_ASSESSMENT_REPORT = {
  kind: 'InfraAssessmentReport',
  listKind: 'InfraAssessmentReportList',
  plural: 'infraassessmentreports',
  singular: 'infraassessmentreport',
  shortNames: ['infraassessment', 'infraassessments'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

/**
 * Written by trivy-operator for Nodes from node-collector's output (a Job on each node reading
 * the kubelet's files). fleetscan ships the CRD and writes none yet: see docs/ARCHITECTURE.md
 * (Infra assessment) for why and where a node collector would plug in.
 */
export const CLUSTER_INFRA_ASSESSMENT_REPORT = {
  kind: 'ClusterInfraAssessmentReport',
  listKind: 'ClusterInfraAssessmentReportList',
  plural: 'clusterinfraassessmentreports',
  singular: 'clusterinfraassessmentreport',
  shortNames: ['clusterinfraassessment'],
  scope: 'Cluster',
} as const satisfies ReportResource;

/** The SBOM of one container's image (sbom_types.go), per owner and container like a VulnerabilityReport. */
export const SBOM_REPORT = {
  kind: 'SbomReport',
  listKind: 'SbomReportList',
  plural: 'sbomreports',
  singular: 'sbomreport',
  shortNames: ['sbom', 'sboms'],
  scope: 'Namespaced',
} as const satisfies ReportResource;

/**
 * trivy-operator's cluster-wide SBOM cache, one per image (`OPERATOR_CLUSTER_SBOM_CACHE_ENABLED`),
 * named by the hash of the image reference and owned by nothing. fleetscan ships the CRD and writes
 * none: its cache of SBOMs is the object store (docs/ARCHITECTURE.md, SBOM reports).
 */
export const CLUSTER_SBOM_REPORT = {
  kind: 'ClusterSbomReport',
  listKind: 'ClusterSbomReportList',
  plural: 'clustersbomreports',
  singular: 'clustersbomreport',
  shortNames: ['clustersbom'],
  scope: 'Cluster',
} as const satisfies ReportResource;

/** Every report kind with a CRD in deploy/crds, keyed by kind. */
export const REPORT_RESOURCES = {
  VulnerabilityReport: VULNERABILITY_REPORT,
  ConfigAuditReport: CONFIG_AUDIT_REPORT,
  ClusterConfigAuditReport: CLUSTER_CONFIG_AUDIT_REPORT,
  ExposedSecretReport: EXPOSED_SECRET_REPORT,
  RbacAssessmentReport: RBAC_ASSESSMENT_REPORT,
  ClusterRbacAssessmentReport: CLUSTER_RBAC_ASSESSMENT_REPORT,
  InfraAssessmentReport: INFRA_ASSESSMENT_REPORT,
  ClusterInfraAssessmentReport: CLUSTER_INFRA_ASSESSMENT_REPORT,
  SbomReport: SBOM_REPORT,
  ClusterSbomReport: CLUSTER_SBOM_REPORT,
} as const;

export type ReportKind = keyof typeof REPORT_RESOURCES;

/** `<plural>.<group>`, the CRD's metadata.name. */
export function crdName(resource: ReportResource): string {
  return `${resource.plural}.${GROUP}`;
}
