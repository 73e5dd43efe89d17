import type { ResourceRef } from '@fleetscan/kube';

/**
 * What a workload is to fleetscan: the kinds trivy-operator reports on, where the API keeps them,
 * and the small projection the owner rules (owner-rules.ts) decide on. Building the projection
 * from an API object is project-workload.ts.
 */

/** The kinds trivy-operator scans, plus Deployment as context for its ReplicaSets. */
export const WORKLOAD_KINDS = [
  'Pod',
  'ReplicaSet',
  'ReplicationController',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'Deployment',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const WORKLOAD_RESOURCES: Readonly<Record<WorkloadKind, ResourceRef>> = {
  Pod: { group: '', version: 'v1', plural: 'pods' },
  ReplicaSet: { group: 'apps', version: 'v1', plural: 'replicasets' },
  ReplicationController: { group: '', version: 'v1', plural: 'replicationcontrollers' },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets' },
  Job: { group: 'batch', version: 'v1', plural: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', plural: 'cronjobs' },
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments' },
};

export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** A container as the wire JSON has it; only name and image are relied on. */
export interface WireContainer {
  name: string;
  image?: string;
  [field: string]: unknown;
}

/**
 * A pod spec exactly as the API server sent it (wire JSON, not client-node's deserialised model):
 * what gets hashed and audited must be what the cluster has, field for field.
 */
export interface PodSpec {
  containers?: WireContainer[];
  initContainers?: WireContainer[];
  ephemeralContainers?: WireContainer[];
  [field: string]: unknown;
}

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

export interface ContainerRef {
  name: string;
  image: string;
  kind: ContainerKind;
}

export interface ControllerRef {
  kind: string;
  name: string;
  uid: string;
  apiVersion: string;
}

/**
 * What the watcher keeps of a workload. Deliberately small: no status, annotations or managedFields.
 * `podSpec` (and, except for Pods, `containers`) are kept only for report owners
 * (isReportOwner without context): the Pods of a ReplicaSet and the old ReplicaSets a Deployment
 * keeps for rollback outnumber owners many times and their specs are their controller's template.
 * Every change re-projects from the full object, so a non-owner that becomes one gets its spec.
 */
export interface Workload {
  kind: WorkloadKind;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** Kept whole: label-based skipping decides on them. */
  labels: Readonly<Record<string, string>>;
  /** The ownerReference with controller=true. */
  controllerRef?: ControllerRef;
  /** spec.replicas of ReplicaSet, ReplicationController, StatefulSet, Deployment. */
  replicas?: number;
  /** deployment.kubernetes.io/revision of a ReplicaSet or Deployment: tells the current ReplicaSet. */
  revision?: string;
  /** metadata.deletionTimestamp is set. */
  terminating?: true;
  /** metadata.creationTimestamp in ms (the API server's clock, whole seconds). */
  createdAtMs?: number;
  podSpec?: PodSpec;
  containers: readonly ContainerRef[];
  /** Pod only: container name → status imageID (the digest the kubelet pulled), when reported. */
  imageIDs?: Readonly<Record<string, string>>;
}
