/**
 * trivy command lines, as pure functions so every flag is unit-tested and visible in one place.
 * Checked against trivy v0.74 (`trivy image --help`, `trivy config --help`, and strace showing
 * no connection but the registry's).
 */
import type { Severity } from './severity.ts';

export type ImageScanner = 'vuln' | 'secret';

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

/** `trivy config` has no DB and no dependency lookups; it rejects those flags as unknown. */
const NO_NETWORK_CONFIG = ['--skip-check-update', '--skip-version-check', '--disable-telemetry'] as const;

export interface ImageScanArgsInput {
  ref: string;
  cacheDir: string;
  timeoutMs: number;
  scanners: readonly ImageScanner[];
  severities?: readonly Severity[] | undefined;
  ignoreUnfixed?: boolean | undefined;
  skipFiles?: readonly string[] | undefined;
  skipDirs?: readonly string[] | undefined;
  ignoreFile?: string | undefined;
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
    '--scanners',
    [...new Set(input.scanners)].join(','),
    ...severityArgs(input.severities),
    ...(input.ignoreUnfixed ? ['--ignore-unfixed'] : []),
    ...repeated('--skip-files', input.skipFiles),
    ...repeated('--skip-dirs', input.skipDirs),
    ...(input.ignoreFile ? ['--ignorefile', input.ignoreFile] : []),
    // `--` so a reference can never be read as a flag.
    '--',
    input.ref,
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
  return [
    '--cache-dir',
    cacheDir,
    '--format',
    'json',
    '--timeout',
    `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`,
  ];
}

function severityArgs(severities: readonly Severity[] | undefined): string[] {
  return severities && severities.length > 0 ? ['--severity', [...new Set(severities)].join(',')] : [];
}

/** One flag per value: a path may contain a comma, which trivy would split on. */
function repeated(flag: string, values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => [flag, v]);
}
