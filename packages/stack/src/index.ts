export { loadStackConfig } from './config.ts';
export { crdDir, installCrds, readCrds } from './crds.ts';
export { isStackError, StackError, StackErrorCode } from './errors.ts';
export {
  checkIdentity,
  compareIdentity,
  type IdentityCheck,
  type ProcessIdentity,
  parseStartTime,
  readIdentity,
  recordedAlive,
  signalRecorded,
} from './identity.ts';
export * from './images/index.ts';
export { type Nats, type NatsNode, type NatsOptions, provisionIdentities, startNats } from './nats.ts';
export { natsConnectOptions, natsEnv, provisionCluster } from './nats-access.ts';
export { addUsers, type NatsUser, readUsers, renderAuthConf } from './nats-auth.ts';
export { mintOidcToken, type OidcIssuerInfo, type TokenClaims } from './oidc-issuer.ts';
export {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
  issueClientCertificate,
} from './pki.ts';
export { freePort } from './ports.ts';
export { killGroup, type ManagedProcess, startProcess, waitReady } from './process.ts';
export {
  type Prometheus,
  type PrometheusTarget,
  type PromSeries,
  startPrometheus,
} from './prometheus.ts';
export { type Registry, startRegistry } from './registry.ts';
export {
  type ClusterInfo,
  clusterIdentities,
  clusterNames,
  type NatsInfo,
  type Stack,
  type StackInfo,
  type StackOptions,
  startStack,
} from './stack.ts';
export { createTestTls, type TestTls } from './tls.ts';
export { locateComposeConfig, locateTools, repoRoot, type Tools } from './tools.ts';
export { buildTrivyDb, vulnDbFixture } from './trivydb.ts';
