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

/** Every report kind with a CRD in deploy/crds, keyed by kind. */
export const REPORT_RESOURCES = {
  VulnerabilityReport: VULNERABILITY_REPORT,
  ConfigAuditReport: CONFIG_AUDIT_REPORT,
  ClusterConfigAuditReport: CLUSTER_CONFIG_AUDIT_REPORT,
  ExposedSecretReport: EXPOSED_SECRET_REPORT,
} as const;

export type ReportKind = keyof typeof REPORT_RESOURCES;

/** `<plural>.<group>`, the CRD's metadata.name. */
export function crdName(resource: ReportResource): string {
  return `${resource.plural}.${GROUP}`;
}
