import { describe, expect, it } from 'vitest';
import { computeHash } from './hash.ts';
import { partitionInfraChecks } from './infra-checks.ts';
import { auditReports, isInfraComponent, ownerReportNames, ownerReports } from './owner-reports.ts';

describe('ownerReports', () => {
  it('is one config audit report, and a vulnerability, an exposed-secret and an SBOM report per container', () => {
    expect(
      ownerReports({ kind: 'ReplicaSet', name: 'web-5d9c', namespace: 'shop' }, [
        { name: 'app' },
        { name: 'init' },
      ]),
    ).toEqual([
      { kind: 'ConfigAuditReport', name: 'replicaset-web-5d9c' },
      { kind: 'VulnerabilityReport', name: 'replicaset-web-5d9c-app' },
      { kind: 'ExposedSecretReport', name: 'replicaset-web-5d9c-app' },
      { kind: 'SbomReport', name: 'replicaset-web-5d9c-app' },
      { kind: 'VulnerabilityReport', name: 'replicaset-web-5d9c-init' },
      { kind: 'ExposedSecretReport', name: 'replicaset-web-5d9c-init' },
      { kind: 'SbomReport', name: 'replicaset-web-5d9c-init' },
    ]);
  });

  it('keeps each container with its report name, so callers read its other fields', () => {
    const c = { name: 'app', image: 'nginx:1.27' };
    expect(ownerReportNames({ kind: 'Pod', name: 'solo' }, [c]).containers).toEqual([
      { container: c, name: 'pod-solo-app' },
    ]);
  });
});

describe('auditReports', () => {
  const infra = { infra: true };
  it("is the object's ConfigAuditReport, or ClusterConfigAuditReport when it has no namespace", () => {
    expect(auditReports({ kind: 'Service', name: 'web', namespace: 'shop' }, infra)).toEqual([
      { kind: 'ConfigAuditReport', name: 'service-web' },
    ]);
    expect(auditReports({ kind: 'PersistentVolume', name: 'pv-1', namespace: '' }, infra)).toEqual([
      { kind: 'ClusterConfigAuditReport', name: 'persistentvolume-pv-1' },
    ]);
    expect(
      auditReports({ kind: 'CustomResourceDefinition', name: 'widgets.example.com', namespace: '' }, infra),
    ).toEqual([
      // Dots are not DNS-1123 label characters: the name is hashed, as trivy-operator does.
      {
        kind: 'ClusterConfigAuditReport',
        name: `customresourcedefinition-${computeHash('widgets.example.com')}`,
      },
    ]);
  });

  it('is an RBAC assessment for Roles and ClusterRoles, never a config audit (kube.IsRoleTypes)', () => {
    expect(auditReports({ kind: 'Role', name: 'deployer', namespace: 'shop' }, infra)).toEqual([
      { kind: 'RbacAssessmentReport', name: 'role-deployer' },
    ]);
    expect(auditReports({ kind: 'ClusterRole', name: 'wide', namespace: '' }, infra)).toEqual([
      { kind: 'ClusterRbacAssessmentReport', name: 'clusterrole-wide' },
    ]);
    // RoleBindings are not role types: they get config audits.
    expect(auditReports({ kind: 'ClusterRoleBinding', name: 'b', namespace: '' }, infra)).toEqual([
      { kind: 'ClusterConfigAuditReport', name: 'clusterrolebinding-b' },
    ]);
  });

  it('adds an InfraAssessmentReport for control-plane components in kube-system, when enabled', () => {
    const apiserver = { kind: 'Pod', name: 'kube-apiserver-node1', namespace: 'kube-system' };
    expect(auditReports(apiserver, infra)).toEqual([
      { kind: 'ConfigAuditReport', name: 'pod-kube-apiserver-node1' },
      { kind: 'InfraAssessmentReport', name: 'pod-kube-apiserver-node1' },
    ]);
    expect(auditReports(apiserver, { infra: false })).toHaveLength(1);
    expect(isInfraComponent({ ...apiserver, namespace: 'default' })).toBe(false);
    for (const name of ['etcd-cp', 'kube-scheduler-x', 'kube-controller-manager-y'])
      expect(isInfraComponent({ kind: 'Pod', name, namespace: 'kube-system' }), name).toBe(true);
    expect(isInfraComponent({ kind: 'Pod', name: 'coredns-1', namespace: 'kube-system' })).toBe(false);
  });
});

describe('partitionInfraChecks', () => {
  it('sends KCV and AVD-KCV checks to the infra report and the rest to the audit', () => {
    const c = (checkID: string) => ({ checkID, severity: 'HIGH' as const, success: false });
    expect(partitionInfraChecks([c('KSV001'), c('KCV0001'), c('AVD-KCV-0002'), c('AVD-KSV-0003')])).toEqual({
      audit: [c('KSV001'), c('AVD-KSV-0003')],
      infra: [c('KCV0001'), c('AVD-KCV-0002')],
    });
  });
});
