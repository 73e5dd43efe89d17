/**
 * @fleetscan/kube: Kubernetes access for fleetscan services — kubeconfig loading into a keep-alive
 * connection, plain JSON requests over it (no client-node at run time), a supervised
 * list+watch reflector that keeps only projections, trivy-operator's report-owner rules for
 * workloads, and API errors classified into codes.
 */

export { exponentialBackoff } from './backoff.ts';
export { type ConnectionOptions, createKubeConnection, type KubeConnection } from './connection.ts';
export { deepEqual, equalIgnoringResourceVersion } from './equal.ts';
export {
  classifyKubeError,
  isKubeError,
  KubeError,
  KubeErrorCode,
  type KubeErrorDetails,
  type ResponseInfo,
  responseError,
} from './errors.ts';
export { type LoadKubeConfigOptions, loadKubeConfig, SERVICE_ACCOUNT_DIR } from './kubeconfig.ts';
export type { Auth, ConnectionSpec, ExecConfig, Material } from './kubeconfig-file.ts';
export type { KubeLogger } from './logger.ts';
export type { KubeObject, ObjectMeta, OwnerReference } from './object.ts';
export { isBuiltInController, isReportOwner, type OwnerContext, reportOwnerRef } from './owners.ts';
export { type ProxyEnv, proxyEnvFrom } from './proxy.ts';
export { createReflector, type Reflector, type ReflectorOptions } from './reflector.ts';
export { apiVersionOf, type ResourceRef, resourceName, resourcePath } from './resource.ts';
export { objectKey, type ReflectorEvent, type ReflectorEventType } from './store.ts';
export { createTransport, type KubeRequest, type KubeTransport, type Query } from './transport.ts';
export {
  type ContainerKind,
  type ContainerRef,
  type ControllerRef,
  containersOf,
  extractPodSpec,
  isWorkloadKind,
  type PodSpec,
  podSpecOf,
  projectWorkload,
  type WireContainer,
  WORKLOAD_KINDS,
  WORKLOAD_RESOURCES,
  type Workload,
  type WorkloadKind,
  workloadProjector,
} from './workloads.ts';
