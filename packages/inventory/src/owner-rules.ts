import type { ControllerRef, Workload } from './workload.ts';

/**
 * Controllers whose Pods trivy-operator does not report on itself (kube.IsBuiltInWorkload): the
 * reports go to the controller. A Pod run by anything else (an operator's custom resource) is its
 * own report owner, as in trivy-operator.
 */
const BUILT_IN_POD_CONTROLLERS: ReadonlySet<string> = new Set([
  'ReplicaSet',
  'ReplicationController',
  'StatefulSet',
  'DaemonSet',
  'Job',
]);

export function isBuiltInController(ref: ControllerRef | undefined): boolean {
  return ref !== undefined && BUILT_IN_POD_CONTROLLERS.has(ref.kind);
}

/** What isReportOwner may consult beyond the workload itself; everything optional. */
export interface OwnerContext {
  /**
   * The current deployment.kubernetes.io/revision of a Deployment, when known (e.g. from a
   * Deployment reflector). Lets a ReplicaSet that still has replicas during a rollout be recognised
   * as the old revision. Without it only the replicas rule applies.
   */
  deploymentRevision?(namespace: string, name: string): string | undefined;
}

/**
 * Whether reports (VulnerabilityReport, ConfigAuditReport) are owned by this workload, following
 * trivy-operator's workload controller (pkg/operator/workload SkipProcessing) where it can be decided
 * from the workload alone:
 * - Pod: owner unless controlled by a built-in controller (see isBuiltInController).
 * - ReplicaSet controlled by a Deployment: owner only while current. The Deployment controller scales
 *   old revisions to 0, so spec.replicas == 0 means "not current"; with `ctx.deploymentRevision`
 *   the revision annotation must also match the Deployment's (trivy-operator's default
 *   scanOnlyCurrentRevisions). Other ReplicaSets are owners.
 * - Job controlled by a CronJob: not an owner; the CronJob owns its Jobs' reports.
 * - ReplicationController, StatefulSet, DaemonSet, CronJob, other Jobs: owners.
 * - Deployment: never; its reports belong to its current ReplicaSet.
 * - Anything being deleted: not an owner (trivy-operator filters terminating objects out).
 * Not reproduced: trivy-operator also skips ReplicaSets, ReplicationControllers and StatefulSets
 * without running Pods, which needs a view of Pods (and, here, a kubelet); and OpenShift deployer Pods.
 */
export function isReportOwner(w: Workload, ctx: OwnerContext = {}): boolean {
  if (w.terminating) return false;
  switch (w.kind) {
    case 'Pod':
      return !isBuiltInController(w.controllerRef);
    case 'ReplicaSet': {
      const ref = w.controllerRef;
      if (ref?.kind !== 'Deployment') return true;
      if (w.replicas === 0) return false;
      const current = ctx.deploymentRevision?.(w.namespace, ref.name);
      return current === undefined || w.revision === undefined || current === w.revision;
    }
    case 'Job':
      return w.controllerRef?.kind !== 'CronJob';
    case 'Deployment':
      return false;
    case 'ReplicationController':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'CronJob':
      return true;
  }
}

/**
 * The workload whose reports cover `w`, as far as `w` alone tells: itself when it is an owner; the
 * controller of a Pod run by a built-in controller; the CronJob of a Job. Undefined otherwise
 * (Deployments, old ReplicaSets, terminating objects). One step only: a Pod of a CronJob's Job
 * resolves to the Job, which the caller resolves again.
 */
export function reportOwnerRef(w: Workload): { kind: string; name: string; namespace: string } | undefined {
  if (isReportOwner(w)) return { kind: w.kind, name: w.name, namespace: w.namespace };
  const ref = w.controllerRef;
  if (w.terminating || !ref) return undefined;
  if ((w.kind === 'Pod' && isBuiltInController(ref)) || (w.kind === 'Job' && ref.kind === 'CronJob')) {
    return { kind: ref.kind, name: ref.name, namespace: w.namespace };
  }
  return undefined;
}
