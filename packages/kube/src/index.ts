/**
 * @fleetscan/kube: Kubernetes access for fleetscan services — kubeconfig loading into a keep-alive
 * connection, plain JSON requests over it (no client-node at run time), a supervised
 * list+watch reflector that keeps only projections, and API errors classified into codes.
 * Which workloads own reports (trivy-operator's rules) is domain logic: @fleetscan/inventory.
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
export { kubeEnv } from './kube-env.ts';
export { type LoadKubeConfigOptions, loadKubeConfig, SERVICE_ACCOUNT_DIR } from './kubeconfig.ts';
export type { Auth, ConnectionSpec, ExecConfig, Material } from './kubeconfig-file.ts';
export { listAll } from './list-all.ts';
export type { KubeLogger } from './logger.ts';
export type { KubeObject, ObjectMeta, OwnerReference } from './object.ts';
export { type ProxyEnv, proxyEnvFrom } from './proxy.ts';
export { createReflector, type Reflector, type ReflectorOptions } from './reflector.ts';
export { apiVersionOf, type ResourceRef, resourceName, resourcePath } from './resource.ts';
export { objectKey, type ReflectorEvent, type ReflectorEventType } from './store.ts';
export { createTransport, type KubeRequest, type KubeTransport, type Query } from './transport.ts';
