export { type BlobStore, type BlobStoreOptions, objectDigest, openBlobStore } from './blobs.ts';
export { ensureClusterResources } from './cluster-resources.ts';
export { BusError, BusErrorCode, decode, encode, isBusError } from './codec.ts';
export {
  type CanonicalConfigAuditSettings,
  CHECK_ID_FORMATS,
  type CheckIdFormat,
  CheckIdFormatSchema,
  type ConfigAuditSettings,
  ConfigAuditSettingsSchema,
  canonicalConfigAuditSettings,
  pluginConfigHash,
} from './config-audit-settings.ts';
export { authenticator, type ConnectOptions, connectBus, type NatsAuth, type NatsTls } from './connect.ts';
export { type ConsumeOptions, type Consumption, consume, type Delivery, deliveryLimit } from './consume.ts';
export { type ConsumeMetrics, createConsumeMetrics } from './consume-metrics.ts';
export {
  createDeadLetters,
  type DeadLetter,
  DeadLetterHeader,
  type DeadLetters,
} from './dead-letters.ts';
export { morePending, readDirectBatch } from './direct-batch.ts';
export {
  FAILURES_POLL_MS,
  type FailureEntry,
  type FailureView,
  readFailures,
} from './failure-view.ts';
export * from './fleet-messages.ts';
export {
  FLEETSCAN_ACCOUNT,
  type Identity,
  inboxPrefix,
  type Permissions,
  permissionsFor,
  type Role,
  type SubjectRules,
  userName,
} from './identities.ts';
export {
  checkIgnoreYaml,
  doublestarToRegExp,
  IgnoreFileError,
  type IgnoreRule,
  isIgnored,
  rulesFromText,
  secretRulesFromYaml,
} from './ignore-file.ts';
export * from './messages.ts';
export { clusterEnv, type NatsSettings, natsEnv, natsSettings } from './nats-config.ts';
export { type OwnerFilter, OwnerFilterSchema, ownerFilterKey, ownerFilterMatches } from './owner-filter.ts';
export { pendingMessages } from './pending.ts';
export { ensureTopology, type OwnedTopology, waitForStreams } from './provision.ts';
export {
  MAX_PROVISION_ERROR_LENGTH,
  PROVISION_QUEUE,
  type ProvisionReply,
  ProvisionReplySchema,
} from './provision-protocol.ts';
export {
  PROVISION_REQUEST_TIMEOUT_MS,
  type ProvisionRequester,
  requestProvision,
} from './provision-request.ts';
export {
  type ProvisionConnection,
  type ProvisionMsg,
  type ProvisionOutcome,
  type ProvisionSubscription,
  serveProvisioning,
} from './provision-responder.ts';
export { ensureReplicas } from './replicas.ts';
export {
  type ClusterResource,
  createReprovision,
  type Reprovision,
  streamGone,
} from './reprovision.ts';
export {
  bounded,
  DEFAULT_RETRY,
  type Decision,
  decide,
  type Ending,
  isLastDelivery,
  type Outcome,
  pastLimit,
  type RetryPolicy,
  retryDelay,
} from './retry-policy.ts';
export { type ImageSbom, ImageSbomSchema, type SbomEntry, SbomEntrySchema } from './sbom-entry.ts';
export {
  DEFAULT_FAILURE_BACKOFF,
  FAILURE_RECORD_MAX_AGE_MS,
  type FailedScan,
  type FailureBackoff,
  failureBackoffMs,
  failureKey,
  heldUntil,
  MAX_FAILURE_MESSAGE_LENGTH,
  nextRecord,
  type ScanFailureRecord,
  ScanFailureRecordSchema,
} from './scan-failures.ts';
export {
  type AnalysisSettings,
  type CanonicalScanSettings,
  canonicalScanSettings,
  type MatchSettings,
  type ReportSettings,
  type ScanSettings,
  ScanSettingsSchema,
  scanConfigHash,
} from './scan-settings.ts';
export {
  credentialsAad,
  keyId,
  openCredentials,
  type RegistryCredentials,
  RegistryCredentialsSchema,
  type Sealed,
  SealedSchema,
  sealCredentials,
} from './seal.ts';
export {
  CLUSTER_NAME_PATTERN,
  clusterOf,
  INVENTORY_SYNCED_TOKEN,
  LANES,
  type Lane,
  laneOf,
  PREFIX,
  subjects,
  UID_TOKEN_PATTERN,
} from './subjects.ts';
export {
  BLOB_BUCKET,
  CONSUMER_SCAN_CONFIG,
  CONSUMER_SCAN_CONFIG_BULK,
  CONSUMER_SCAN_IMAGE,
  CONSUMER_SCAN_IMAGE_BULK,
  DEFAULT_SCAN_ACK_WAIT_MS,
  ensureConsumer,
  ensureStreams,
  FINDINGS_TTL,
  failuresBucket,
  INVENTORY_TOMBSTONE_TTL,
  isNotFound,
  LOCK_BUCKET,
  MAX_DELIVERIES,
  MAX_DELIVERIES_METADATA,
  manifestsBucket,
  resultsBucket,
  STATE_BUCKET,
  STATE_KEY_TRIVY_DB,
  STREAM_DEAD,
  STREAM_FLEET,
  STREAM_RESULTS,
  STREAM_SCAN,
  scanConsumer,
  scanConsumerConfigs,
  streamConfigs,
  type TopologyOptions,
  writerConsumer,
  writerConsumerConfig,
} from './topology.ts';
