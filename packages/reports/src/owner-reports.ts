import {
  configAuditReportName,
  containerReportName,
  infraAssessmentReportName,
  rbacAssessmentReportName,
} from './naming.ts';
import {
  CLUSTER_CONFIG_AUDIT_REPORT,
  CLUSTER_RBAC_ASSESSMENT_REPORT,
  CONFIG_AUDIT_REPORT,
  EXPOSED_SECRET_REPORT,
  INFRA_ASSESSMENT_REPORT,
  RBAC_ASSESSMENT_REPORT,
  SBOM_REPORT,
  VULNERABILITY_REPORT,
} from './resources.ts';

/**
 * Which reports an owner has, as trivy-operator keeps them (pkg/configauditreport/controller
 * resource.go and helper.go): one audit of the object itself — a ConfigAuditReport, for a
 * cluster-scoped object a ClusterConfigAuditReport, for a Role a RbacAssessmentReport and for a
 * ClusterRole a ClusterRbacAssessmentReport — plus an InfraAssessmentReport for a control-plane
 * component running in kube-system; and for a workload, per container one VulnerabilityReport and
 * (with secret scanning) one ExposedSecretReport and (with SBOM generation) one SbomReport, all
 * sharing a name, each in its own kind.
 */

/** The reports fleetscan writes for owners. ClusterInfraAssessmentReport (Nodes) is not one yet. */
export const OWNER_REPORT_KINDS = [
  VULNERABILITY_REPORT.kind,
  CONFIG_AUDIT_REPORT.kind,
  EXPOSED_SECRET_REPORT.kind,
  CLUSTER_CONFIG_AUDIT_REPORT.kind,
  RBAC_ASSESSMENT_REPORT.kind,
  CLUSTER_RBAC_ASSESSMENT_REPORT.kind,
  INFRA_ASSESSMENT_REPORT.kind,
  SBOM_REPORT.kind,
] as const;
export type OwnerReportKind = (typeof OWNER_REPORT_KINDS)[number];

/** The reports one config audit of an owner produces. */
export const AUDIT_REPORT_KINDS = [
  CONFIG_AUDIT_REPORT.kind,
  CLUSTER_CONFIG_AUDIT_REPORT.kind,
  RBAC_ASSESSMENT_REPORT.kind,
  CLUSTER_RBAC_ASSESSMENT_REPORT.kind,
  INFRA_ASSESSMENT_REPORT.kind,
] as const;
export type AuditReportKind = (typeof AUDIT_REPORT_KINDS)[number];

export function isAuditReportKind(kind: string): kind is AuditReportKind {
  return (AUDIT_REPORT_KINDS as readonly string[]).includes(kind);
}

/** An object as the report rules see it; `namespace` is '' for cluster-scoped objects. */
export interface ReportSubject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

/** trivy-operator's kube.IsRoleTypes: kinds whose audit is an RBAC assessment, not a config audit. */
export function isRbacKind(kind: string): boolean {
  return kind === 'Role' || kind === 'ClusterRole';
}

/**
 * trivy-operator's k8sCoreComponent for objects in a namespace: anything in kube-system whose name
 * contains kube-apiserver, kube-controller-manager, kube-scheduler or etcd — in practice the static
 * Pods of a kubeadm-style control plane (their mirror Pods are owned by their Node, so each is its
 * own report owner). Nodes are the other half of the rule; they need node-collector (not here).
 */
export function isInfraComponent(o: ReportSubject): boolean {
  return (
    o.namespace === 'kube-system' &&
    ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].some((c) => o.name.includes(c))
  );
}

/** The name an audit report of `kind` has for an owner. */
export function auditReportName(kind: AuditReportKind, ownerKind: string, ownerName: string): string {
  switch (kind) {
    case INFRA_ASSESSMENT_REPORT.kind:
      return infraAssessmentReportName(ownerKind, ownerName);
    case RBAC_ASSESSMENT_REPORT.kind:
    case CLUSTER_RBAC_ASSESSMENT_REPORT.kind:
      return rbacAssessmentReportName(ownerKind, ownerName);
    default:
      return configAuditReportName(ownerKind, ownerName);
  }
}

export interface AuditReportOptions {
  /** trivy-operator's infraAssessmentScannerEnabled: InfraAssessmentReports for core components. */
  infra: boolean;
}

/**
 * The reports a config audit of `o` produces, by trivy-operator's rules: Roles and ClusterRoles get
 * an RBAC assessment instead of a config audit; a cluster-scoped object gets the Cluster kind; a
 * control-plane component also gets an InfraAssessmentReport of the infra (KCV) checks.
 */
export function auditReports(
  o: ReportSubject,
  opts: AuditReportOptions,
): { kind: AuditReportKind; name: string }[] {
  const cluster = o.namespace === '';
  let kind: AuditReportKind;
  if (isRbacKind(o.kind)) kind = cluster ? CLUSTER_RBAC_ASSESSMENT_REPORT.kind : RBAC_ASSESSMENT_REPORT.kind;
  else kind = cluster ? CLUSTER_CONFIG_AUDIT_REPORT.kind : CONFIG_AUDIT_REPORT.kind;
  const out: { kind: AuditReportKind; name: string }[] = [
    { kind, name: auditReportName(kind, o.kind, o.name) },
  ];
  if (kind === CONFIG_AUDIT_REPORT.kind && opts.infra && isInfraComponent(o)) {
    const infra = INFRA_ASSESSMENT_REPORT.kind;
    out.push({ kind: infra, name: auditReportName(infra, o.kind, o.name) });
  }
  return out;
}

export interface OwnerReportNames<C extends { readonly name: string }> {
  /** The name of its ConfigAuditReport. */
  configAudit: string;
  /** Per container, in the order given: the name of its VulnerabilityReport and ExposedSecretReport. */
  containers: { container: C; name: string }[];
}

export function ownerReportNames<C extends { readonly name: string }>(
  owner: { readonly kind: string; readonly name: string },
  containers: readonly C[],
): OwnerReportNames<C> {
  return {
    configAudit: configAuditReportName(owner.kind, owner.name),
    containers: containers.map((container) => ({
      container,
      name: containerReportName(owner.kind, owner.name, container.name),
    })),
  };
}

/** Every report an owner with these containers can have, by kind and name, whatever is configured. */
export function ownerReports(
  owner: ReportSubject,
  containers: readonly { readonly name: string }[],
): { kind: OwnerReportKind; name: string }[] {
  const names = ownerReportNames(owner, containers);
  return [
    ...auditReports(owner, { infra: true }),
    ...names.containers.flatMap(({ name }) => [
      { kind: VULNERABILITY_REPORT.kind, name },
      { kind: EXPOSED_SECRET_REPORT.kind, name },
      { kind: SBOM_REPORT.kind, name },
    ]),
  ];
}
