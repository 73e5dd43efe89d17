import { configAuditReportName, containerReportName } from './naming.ts';
import { CONFIG_AUDIT_REPORT, EXPOSED_SECRET_REPORT, VULNERABILITY_REPORT } from './resources.ts';

/**
 * Which reports a workload that owns reports has, as trivy-operator keeps them: one
 * ConfigAuditReport, and per container one VulnerabilityReport and (with secret scanning) one
 * ExposedSecretReport; the two per-container reports share a name, each in its own kind.
 */
export const OWNER_REPORT_KINDS = [
  VULNERABILITY_REPORT.kind,
  CONFIG_AUDIT_REPORT.kind,
  EXPOSED_SECRET_REPORT.kind,
] as const;
export type OwnerReportKind = (typeof OWNER_REPORT_KINDS)[number];

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

/** Every report an owner with these containers can have, by kind and name. */
export function ownerReports(
  owner: { readonly kind: string; readonly name: string },
  containers: readonly { readonly name: string }[],
): { kind: OwnerReportKind; name: string }[] {
  const names = ownerReportNames(owner, containers);
  return [
    { kind: CONFIG_AUDIT_REPORT.kind, name: names.configAudit },
    ...names.containers.flatMap(({ name }) => [
      { kind: VULNERABILITY_REPORT.kind, name },
      { kind: EXPOSED_SECRET_REPORT.kind, name },
    ]),
  ];
}
