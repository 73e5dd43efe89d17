/**
 * trivy command lines, as pure functions so every flag is unit-tested and visible in one place.
 * Checked against trivy v0.74 (`trivy image|sbom|convert|config --help`, and strace showing no
 * connection but the registry's for `image`, none at all for `sbom` and `convert`).
 */
import type { ImageConfigScanner, ImageScanner, Severity } from '@fleetscan/reports';

/**
 * Registry login for TRIVY_USERNAME/TRIVY_PASSWORD. The same shape as @fleetscan/bus'
 * RegistryCredentials, which fleetscan passes here; declared here so that running trivy does not
 * depend on the message contract.
 */
export interface RegistryAuth {
  username: string;
  password: string;
}

/**
 * Never phone home: no DB, Java DB or checks-bundle download (the DB in the cache dir is all
 * trivy gets), no dependency-lookup API calls, and no version check. The version check is one
 * request that also carries the telemetry, so only both flags together stop it
 * (pkg/notification: skipped iff SkipVersionCheck && DisableTelemetry; either alone still
 * resolves check.trivy.dev).
 */
const NO_NETWORK_IMAGE = [
  '--skip-db-update',
  '--skip-java-db-update',
  '--offline-scan',
  '--skip-check-update',
  '--skip-version-check',
  '--disable-telemetry',
] as const;

/**
 * `trivy sbom` matches an SBOM against the DB: the same as for images minus
 * --skip-check-update, which it rejects as unknown (it runs no misconfiguration checks).
 */
const NO_NETWORK_SBOM = [
  '--skip-db-update',
  '--skip-java-db-update',
  '--offline-scan',
  '--skip-version-check',
  '--disable-telemetry',
] as const;

/** `trivy config` has no DB and no dependency lookups; it rejects those flags as unknown. */
const NO_NETWORK_CONFIG = ['--skip-check-update', '--skip-version-check', '--disable-telemetry'] as const;

export interface ImageScanArgsInput {
  ref: string;
  cacheDir: string;
  timeoutMs: number;
  scanners: readonly ImageScanner[];
  /** `--image-config-scanners`: what to look for in the image config (Env, labels, history). */
  imageConfigScanners?: readonly ImageConfigScanner[] | undefined;
  severities?: readonly Severity[] | undefined;
  ignoreUnfixed?: boolean | undefined;
  skipFiles?: readonly string[] | undefined;
  skipDirs?: readonly string[] | undefined;
  ignoreFile?: string | undefined;
  /** A Rego file deciding per finding whether to ignore it (`--ignore-policy`). */
  ignorePolicy?: string | undefined;
}

export function imageScanArgs(input: ImageScanArgsInput): string[] {
  if (input.scanners.length === 0) throw new RangeError('imageScanArgs: at least one scanner is required');
  return [
    'image',
    ...common(input.cacheDir, input.timeoutMs),
    ...NO_NETWORK_IMAGE,
    // Pull from the registry only; never look for a docker, containerd or podman socket.
    '--image-src',
    'remote',
    // No layer cache on disk: results are cached by digest upstream, the cache dir stays
    // read-only (only the DB is read) and parallel runs share no bolt file.
    '--cache-backend',
    'memory',
    '--no-progress',
    // Every package, vulnerable or not (trivy's JSON default, made explicit): `trivy convert`
    // turns this report into the SBOM that later re-matches run on.
    '--list-all-pkgs',
    '--scanners',
    [...new Set(input.scanners)].join(','),
    ...(input.imageConfigScanners && input.imageConfigScanners.length > 0
      ? ['--image-config-scanners', [...new Set(input.imageConfigScanners)].join(',')]
      : []),
    ...repeated('--skip-files', input.skipFiles),
    ...repeated('--skip-dirs', input.skipDirs),
    ...matchArgs(input),
    // `--` so a reference can never be read as a flag.
    '--',
    input.ref,
  ];
}

/** What decides which of the found vulnerabilities are reported: the same flags for image and sbom. */
export interface MatchArgsInput {
  severities?: readonly Severity[] | undefined;
  ignoreUnfixed?: boolean | undefined;
  /**
   * Path of an ignore file: `.trivyignore` (one ID per line) or, when the name ends in `.yaml` or
   * `.yml`, trivy's `.trivyignore.yaml` (IDs with paths, PURLs and expiry per finding type).
   */
  ignoreFile?: string | undefined;
  /** Path of a Rego ignore policy. */
  ignorePolicy?: string | undefined;
}

function matchArgs(input: MatchArgsInput): string[] {
  return [
    ...severityArgs(input.severities),
    ...(input.ignoreUnfixed ? ['--ignore-unfixed'] : []),
    ...(input.ignoreFile ? ['--ignorefile', input.ignoreFile] : []),
    ...(input.ignorePolicy ? ['--ignore-policy', input.ignorePolicy] : []),
  ];
}

export interface SbomScanArgsInput extends MatchArgsInput {
  /** A CycloneDX JSON file (see convertArgs). */
  sbom: string;
  cacheDir: string;
  timeoutMs: number;
}

/**
 * Matches an SBOM's packages against the DB: no registry, no image, no network. On trivy's own
 * CycloneDX (from `trivy convert`) it reports the same OS and the same findings as the image
 * scan the SBOM came from; only ArtifactName/ArtifactType and the Targets' prefix name the file.
 */
export function sbomScanArgs(input: SbomScanArgsInput): string[] {
  return [
    'sbom',
    ...common(input.cacheDir, input.timeoutMs),
    ...NO_NETWORK_SBOM,
    '--cache-backend',
    'memory',
    '--no-progress',
    '--scanners',
    'vuln',
    ...matchArgs(input),
    '--',
    input.sbom,
  ];
}

export interface ConvertArgsInput {
  /** A `trivy image --format json` report (with its Packages, see --list-all-pkgs). */
  report: string;
  cacheDir: string;
  timeoutMs: number;
}

/**
 * Turns a saved JSON report into CycloneDX, offline and without the DB. `trivy convert` only
 * knows the global flags (it rejects --skip-version-check and --disable-telemetry as unknown)
 * and makes no connection at all.
 */
export function convertArgs(input: ConvertArgsInput): string[] {
  return [
    'convert',
    '--cache-dir',
    input.cacheDir,
    '--format',
    'cyclonedx',
    '--timeout',
    timeoutArg(input.timeoutMs),
    '--',
    input.report,
  ];
}

export interface ConfigAuditArgsInput {
  dir: string;
  cacheDir: string;
  timeoutMs: number;
  severities?: readonly Severity[] | undefined;
  /** Also report PASS checks (trivy-operator's report.recordFailedChecksOnly=false). */
  includePassed?: boolean | undefined;
  /** The cluster's version, for the deprecated-API checks (trivy-operator passes it too). */
  k8sVersion?: string | undefined;
}

export function configAuditArgs(input: ConfigAuditArgsInput): string[] {
  return [
    'config',
    ...common(input.cacheDir, input.timeoutMs),
    ...NO_NETWORK_CONFIG,
    // The batch holds Kubernetes manifests only; don't let other scanners guess at them.
    '--misconfig-scanners',
    'kubernetes',
    ...severityArgs(input.severities),
    ...(input.includePassed ? ['--include-non-failures'] : []),
    ...(input.k8sVersion ? ['--k8s-version', input.k8sVersion] : []),
    '--',
    input.dir,
  ];
}

export function versionArgs(cacheDir: string): string[] {
  return ['version', '--format', 'json', '--cache-dir', cacheDir];
}

/**
 * The child's whole environment: nothing is inherited, so a stray TRIVY_* variable or the
 * operator's own docker login cannot change a scan. Credentials go here, never into argv.
 * DOCKER_CONFIG points at a directory that does not exist so ~/.docker/config.json is never
 * read: the only credentials are the ones the caller passed.
 */
export function trivyEnv(input: {
  cacheDir: string;
  registryAuth?: RegistryAuth | undefined;
  extraEnv?: Readonly<Record<string, string>> | undefined;
}): Record<string, string> {
  return {
    DOCKER_CONFIG: `${input.cacheDir}/.no-docker-config`,
    ...input.extraEnv,
    ...(input.registryAuth && {
      TRIVY_USERNAME: input.registryAuth.username,
      TRIVY_PASSWORD: input.registryAuth.password,
    }),
  };
}

function common(cacheDir: string, timeoutMs: number): string[] {
  // trivy's own --timeout (default 5m) would cut a longer budget short; ours is the real limit
  // (trivy ignores its timeout while resolving an image from a stalled registry), so give it
  // the same budget rounded up and let our kill come first or together.
  return ['--cache-dir', cacheDir, '--format', 'json', '--timeout', timeoutArg(timeoutMs)];
}

function timeoutArg(timeoutMs: number): string {
  return `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`;
}

function severityArgs(severities: readonly Severity[] | undefined): string[] {
  return severities && severities.length > 0 ? ['--severity', [...new Set(severities)].join(',')] : [];
}

/** One flag per value: a path may contain a comma, which trivy would split on. */
function repeated(flag: string, values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => [flag, v]);
}
