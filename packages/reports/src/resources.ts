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

/**
 * A report kind's names as trivy-operator's CRDs spell them: the list kind, plural and singular
 * follow from the kind.
 */
export interface KindResource<K extends string, S extends ReportScope> extends ReportResource {
  readonly kind: K;
  readonly listKind: `${K}List`;
  readonly plural: `${Lowercase<K>}s`;
  readonly singular: Lowercase<K>;
  readonly scope: S;
}

export function reportResource<const K extends string, const S extends ReportScope>(
  kind: K,
  scope: S,
  shortNames: readonly string[],
): KindResource<K, S> {
  const singular = kind.toLowerCase() as Lowercase<K>;
  return { kind, listKind: `${kind}List`, plural: `${singular}s`, singular, shortNames, scope };
}

/** Every report kind with a CRD in deploy/crds, keyed by kind. */
export const REPORT_RESOURCES = {
  VulnerabilityReport: reportResource('VulnerabilityReport', 'Namespaced', ['vuln', 'vulns']),
  ConfigAuditReport: reportResource('ConfigAuditReport', 'Namespaced', ['configaudit', 'configaudits']),
  ClusterConfigAuditReport: reportResource('ClusterConfigAuditReport', 'Cluster', ['clusterconfigaudit']),
  ExposedSecretReport: reportResource('ExposedSecretReport', 'Namespaced', [
    'exposedsecret',
    'exposedsecrets',
  ]),
  RbacAssessmentReport: reportResource('RbacAssessmentReport', 'Namespaced', [
    'rbacassessment',
    'rbacassessments',
  ]),
  ClusterRbacAssessmentReport: reportResource('ClusterRbacAssessmentReport', 'Cluster', [
    'clusterrbacassessmentreport',
  ]),
  InfraAssessmentReport: reportResource('InfraAssessmentReport', 'Namespaced', [
    'infraassessment',
    'infraassessments',
  ]),
  /**
   * Written by trivy-operator for Nodes from node-collector's output (a Job on each node reading
   * the kubelet's files). fleetscan ships the CRD and writes none yet: see docs/ARCHITECTURE.md
   * (Infra assessment) for why and where a node collector would plug in.
   */
  ClusterInfraAssessmentReport: reportResource('ClusterInfraAssessmentReport', 'Cluster', [
    'clusterinfraassessment',
  ]),
  /** The SBOM of one container's image (sbom_types.go), per owner and container like a VulnerabilityReport. */
  SbomReport: reportResource('SbomReport', 'Namespaced', ['sbom', 'sboms']),
  /**
   * trivy-operator's cluster-wide SBOM cache, one per image (`OPERATOR_CLUSTER_SBOM_CACHE_ENABLED`),
   * named by the hash of the image reference and owned by nothing. fleetscan ships the CRD and writes
   * none: its cache of SBOMs is the object store (docs/ARCHITECTURE.md, SBOM reports).
   */
  ClusterSbomReport: reportResource('ClusterSbomReport', 'Cluster', ['clustersbom']),
} as const;

export const VULNERABILITY_REPORT = REPORT_RESOURCES.VulnerabilityReport;
export const CONFIG_AUDIT_REPORT = REPORT_RESOURCES.ConfigAuditReport;
export const CLUSTER_CONFIG_AUDIT_REPORT = REPORT_RESOURCES.ClusterConfigAuditReport;
export const EXPOSED_SECRET_REPORT = REPORT_RESOURCES.ExposedSecretReport;
export const RBAC_ASSESSMENT_REPORT = REPORT_RESOURCES.RbacAssessmentReport;
export const CLUSTER_RBAC_ASSESSMENT_REPORT = REPORT_RESOURCES.ClusterRbacAssessmentReport;
export const INFRA_ASSESSMENT_REPORT = REPORT_RESOURCES.InfraAssessmentReport;
export const CLUSTER_INFRA_ASSESSMENT_REPORT = REPORT_RESOURCES.ClusterInfraAssessmentReport;
export const SBOM_REPORT = REPORT_RESOURCES.SbomReport;
export const CLUSTER_SBOM_REPORT = REPORT_RESOURCES.ClusterSbomReport;

export type ReportKind = keyof typeof REPORT_RESOURCES;

/** `<plural>.<group>`, the CRD's metadata.name. */
export function crdName(resource: ReportResource): string {
  return `${resource.plural}.${GROUP}`;
}
