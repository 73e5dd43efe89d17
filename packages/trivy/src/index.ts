/**
 * @fleetscan/trivy: how to run trivy (runner: offline flags, process or trivy worker, timeout, kill,
 * errors; the config audit worker and its supervision) and, separately, how to read what they print (pure
 * parsers into trivy-operator report data).
 */
export {
  type ConfigAuditArgsInput,
  type ConvertArgsInput,
  configAuditArgs,
  convertArgs,
  type ImageScanArgsInput,
  imageScanArgs,
  type MatchArgsInput,
  type RegistryAuth,
  type SbomScanArgsInput,
  sbomScanArgs,
  trivyEnv,
  versionArgs,
} from './args.ts';
export { type ConfigAuditor, type ConfigAuditorOptions, createConfigAuditor } from './auditor.ts';
export {
  type AuditOutcome,
  type AuditorReady,
  type AuditorResponse,
  decodeAuditorLine,
  encodeAuditRequest,
  outcomesOf,
} from './auditor-protocol.ts';
export {
  CHECK_CATEGORY,
  type CheckIdFormat,
  type ConfigCheckOptions,
  type ConfigFinding,
  checkIdOf,
  shortCheckId,
  toConfigChecks,
} from './config-checks.ts';
export { type DbInfo, parseDbMetadata, readDbInfo } from './dbinfo.ts';
export {
  classifyFailure,
  type FailedRun,
  fatalMessage,
  isPermanent,
  isTrivyError,
  TrivyError,
  TrivyErrorCode,
  type TrivyErrorDetails,
} from './errors.ts';
export {
  parseConfigReport,
  type TrivyConfigReport,
  TrivyConfigReportSchema,
  type TrivyMisconfiguration,
  toChecksByFile,
  toConfigFinding,
} from './parse-config.ts';
export {
  type ImageReportData,
  type ImageReportDataOptions,
  parseImageReport,
  scoreOf,
  type TrivyDetectedVulnerability,
  type TrivyImageReport,
  TrivyImageReportSchema,
  type TrivyImageResult,
  type TrivyReportBody,
  toExposedSecrets,
  toImageReportData,
  toOS,
  toVulnerabilities,
} from './parse-image.ts';
export {
  parseSbomReport,
  retargetSbomReport,
  sbomWithoutFindings,
  type TrivySbomReport,
  TrivySbomReportSchema,
} from './parse-sbom.ts';
export { parseVersion, type TrivyVersion } from './parse-version.ts';
export { type BoundedRun, type BoundedRunOptions, runBounded } from './process-run.ts';
export {
  type ConfigAuditOptions,
  createTrivyRunner,
  type ImageScanOptions,
  type SbomScanOptions,
  type TrivyLogger,
  type TrivyRun,
  type TrivyRunner,
  type TrivyRunnerOptions,
} from './runner.ts';
export { toSecretSeverity, toSeverity } from './severity.ts';
export { cleanStderr } from './stderr.ts';
export { TRIVY_WORKER_DIR_PREFIX } from './trivy-workers.ts';
