import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageConfigScanner, ImageScanner, Severity } from '@fleetscan/reports';
import {
  type ConfigAuditArgsInput,
  configAuditArgs,
  convertArgs,
  type ImageScanArgsInput,
  imageScanArgs,
  type RegistryAuth,
  sbomScanArgs,
  trivyEnv,
  versionArgs,
} from './args.ts';
import { classifyFailure, TrivyError, TrivyErrorCode } from './errors.ts';
import { parseVersion, type TrivyVersion } from './parse-version.ts';
import { type BoundedRun, runBounded } from './process-run.ts';
import { cleanStderr } from './stderr.ts';
import { createTrivyWorkers, type WorkerRunResult } from './trivy-workers.ts';

/** The part of a pino logger the runner uses; pino's Logger fits as is. */
export interface TrivyLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface TrivyRunnerOptions {
  /** Absolute path of the trivy binary. */
  bin: string;
  /** Holds `db/` (the vulnerability DB); also the child's working directory. */
  cacheDir: string;
  /** Per run; past it trivy's process group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  logger: TrivyLogger;
  /** Added to the child's otherwise empty environment (proxy, CA bundle, HOME, ...). */
  extraEnv?: Readonly<Record<string, string>>;
  /** SIGTERM to SIGKILL. trivy answers SIGTERM with a "graceful shutdown" that can hang. Default 5 s. */
  killGraceMs?: number;
  /** Refuse stdout beyond this many characters. Default 100 M. */
  maxOutputChars?: number;
  /**
   * How long trivy's pipes may stay open after it exited (a child it left holding them) before they
   * are cut. Default 2 s.
   */
  pipeGraceMs?: number;
  /** Monotonic milliseconds, for durationMs. Default performance.now. */
  now?: () => number;
  /** nice(1), for runs given a niceness. Default /usr/bin/nice. */
  niceBin?: string;
  /**
   * Runs `image`, `sbom` and `convert` in long-lived trivy workers (`<bin> trivy`, see
   * trivy-workers.ts) rather than a trivy process per run: the same commands with the same
   * arguments and environment, without trivy's start-up. `maxIdle`: idle workers kept per niceness;
   * `warm`: start one of normal priority at once, so that the first urgent run does not wait for it.
   */
  workers?: { bin: string; maxIdle: number; warm?: boolean };
}

export interface ImageScanOptions {
  scanners: readonly ImageScanner[];
  imageConfigScanners?: readonly ImageConfigScanner[];
  severities?: readonly Severity[];
  ignoreUnfixed?: boolean;
  skipFiles?: readonly string[];
  skipDirs?: readonly string[];
  /** Path of a .trivyignore file. */
  ignoreFile?: string;
  /** Path of a Rego ignore policy. */
  ignorePolicy?: string;
  /** Passed as TRIVY_USERNAME/TRIVY_PASSWORD in the child's environment only. */
  registryAuth?: RegistryAuth;
  /** Aborting kills trivy (SIGTERM, then SIGKILL) and rejects with ABORTED. */
  signal?: AbortSignal;
  /** A CPU priority below the caller's (nice(1), 1–19): work nobody waits for. */
  niceness?: number;
}

export interface SbomScanOptions {
  severities?: readonly Severity[];
  ignoreUnfixed?: boolean;
  /** Path of a .trivyignore file. */
  ignoreFile?: string;
  /** Path of a Rego ignore policy. */
  ignorePolicy?: string;
  signal?: AbortSignal;
  niceness?: number;
}

export interface ConfigAuditOptions {
  severities?: readonly Severity[];
  includePassed?: boolean;
  k8sVersion?: string;
  signal?: AbortSignal;
}

export interface TrivyRun {
  /** trivy's JSON report, unparsed (see parseImageReport / parseConfigReport). */
  json: string;
  durationMs: number;
}

export interface TrivyRunner {
  /** Scans a registry image; rejects with a TrivyError (see isPermanent). */
  scanImage(ref: string, opts: ImageScanOptions): Promise<TrivyRun>;
  /**
   * Matches a CycloneDX SBOM file against the DB (`trivy sbom`): vulnerabilities without the
   * image, offline. Parse with parseSbomReport.
   */
  scanSbom(sbomFile: string, opts?: SbomScanOptions): Promise<TrivyRun>;
  /** Converts a saved `trivy image` JSON report file to CycloneDX (`trivy convert`); `json` holds it. */
  convertToCycloneDx(
    reportFile: string,
    opts?: { signal?: AbortSignal; niceness?: number },
  ): Promise<TrivyRun>;
  /** Audits every Kubernetes manifest under `dir` in one trivy run (one Result per file). */
  auditConfigs(dir: string, opts?: ConfigAuditOptions): Promise<TrivyRun>;
  /** trivy's version and the DB's UpdatedAt, as `trivy version` reports them. */
  version(): Promise<TrivyVersion>;
  /** Ends the idle trivy workers, if any. */
  close(): Promise<void>;
}

const DEFAULT_KILL_GRACE_MS = 5_000;
const DEFAULT_MAX_OUTPUT_CHARS = 100_000_000;
// stderr is logs, kept only as a tail; a limit here must never be what kills a scan.
const MAX_STDERR_CHARS = 16_000_000;
const MAX_LOGGED_MESSAGE = 2_000;
/** The commands a trivy worker runs; `config` and `version` always get a process of their own. */
const WORKER_COMMANDS: ReadonlySet<string> = new Set(['image', 'sbom', 'convert']);

/**
 * Runs trivy offline, one run per call, as a child process of its own or (image, sbom, convert,
 * with `workers`) in a long-lived trivy worker: no queue and no concurrency limit
 * (the caller owns both). Every run is bounded by timeoutMs and by the caller's AbortSignal, and
 * ends then even when a child trivy started keeps its pipes open (process-run.ts).
 */
export function createTrivyRunner(options: TrivyRunnerOptions): TrivyRunner {
  const { bin, cacheDir, timeoutMs, logger } = options;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const maxOutputChars = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
  const now = options.now ?? (() => performance.now());
  const workers =
    options.workers &&
    createTrivyWorkers({
      bin: options.workers.bin,
      cwd: cacheDir,
      env: trivyEnv({ cacheDir, extraEnv: options.extraEnv }),
      maxIdle: options.workers.maxIdle,
      maxOutputBytes: maxOutputChars,
      ...(options.niceBin && { niceBin: options.niceBin }),
    });
  if (options.workers?.warm) workers?.warm(0);

  async function run(
    command: string,
    args: readonly string[],
    env: Record<string, string>,
    secrets: readonly string[],
    signal: AbortSignal | undefined,
    niceness?: number,
  ): Promise<TrivyRun> {
    const started = now();
    let pid: number | undefined;
    const res: Outcome =
      workers && WORKER_COMMANDS.has(command)
        ? outcomeOf(
            await workers.run({
              args,
              env,
              timeoutMs,
              signal,
              niceness,
            }),
          )
        : await withRunTmp((tmp) =>
            runBounded({
              bin,
              args,
              env: { ...env, TMPDIR: tmp },
              // trivy reads trivy.yaml, .trivyignore and trivy-secret.yaml from its cwd by default.
              cwd: cacheDir,
              timeoutMs,
              killGraceMs,
              signal,
              maxStdoutChars: maxOutputChars,
              maxStderrChars: MAX_STDERR_CHARS,
              ...(options.pipeGraceMs !== undefined && { pipeGraceMs: options.pipeGraceMs }),
              ...(niceness && { niceness }),
              ...(options.niceBin && { niceBin: options.niceBin }),
              onSpawn: (p) => {
                pid = p;
                // Args carry no secrets (credentials are in env), so they are safe to log.
                logger.debug({ command, pid, args }, 'trivy started');
              },
            }),
          );
    pid ??= res.pid;
    const durationMs = Math.round(now() - started);
    const stderr = cleanStderr(res.stderr, secrets);
    const failed =
      res.fatal !== undefined ||
      res.spawnError !== undefined ||
      res.timedOut ||
      res.aborted ||
      res.outputTooLarge ||
      res.signal !== undefined ||
      res.exitCode !== 0;
    if (!failed) {
      logger.debug({ command, pid, durationMs, pipesCut: res.pipesCut || undefined }, 'trivy finished');
      return { json: res.stdout, durationMs };
    }
    const err = res.spawnError
      ? new TrivyError(
          TrivyErrorCode.Failed,
          `trivy ${command}: could not start ${workers && WORKER_COMMANDS.has(command) ? `the trivy worker ${options.workers?.bin}` : bin} in ${cacheDir}: ${res.spawnError.message}`,
          { stderr, cause: res.spawnError },
        )
      : classifyFailure({
          command,
          ...(res.exitCode !== undefined && { exitCode: res.exitCode }),
          ...(res.signal !== undefined && { signal: res.signal }),
          timedOut: res.timedOut,
          timeoutMs,
          aborted: res.aborted,
          outputTooLarge: res.outputTooLarge,
          stderr,
          ...(res.fatal !== undefined && { fatal: cleanStderr(res.fatal, secrets) }),
        });
    logger.warn(
      {
        command,
        pid,
        durationMs,
        code: err.code,
        exitCode: res.exitCode,
        signal: res.signal,
        forceKilled: res.forceKilled,
        pipesCut: res.pipesCut,
      },
      // trivy's FATAL line quotes what it was given and what the registry answered: bounded here.
      err.message.length <= MAX_LOGGED_MESSAGE
        ? err.message
        : `${err.message.slice(0, MAX_LOGGED_MESSAGE)}… (${err.message.length - MAX_LOGGED_MESSAGE} more)`,
    );
    throw err;
  }

  return {
    // async, so that a bad argument rejects like every other failure instead of throwing.
    async scanImage(ref, opts) {
      const input: ImageScanArgsInput = {
        ref,
        cacheDir,
        timeoutMs,
        scanners: opts.scanners,
        imageConfigScanners: opts.imageConfigScanners,
        severities: opts.severities,
        ignoreUnfixed: opts.ignoreUnfixed,
        skipFiles: opts.skipFiles,
        skipDirs: opts.skipDirs,
        ignoreFile: opts.ignoreFile,
        ignorePolicy: opts.ignorePolicy,
      };
      const env = trivyEnv({ cacheDir, registryAuth: opts.registryAuth, extraEnv: options.extraEnv });
      const secrets = opts.registryAuth ? [opts.registryAuth.password] : [];
      return run('image', imageScanArgs(input), env, secrets, opts.signal, opts.niceness);
    },

    async scanSbom(sbomFile, opts = {}) {
      const args = sbomScanArgs({
        sbom: sbomFile,
        cacheDir,
        timeoutMs,
        severities: opts.severities,
        ignoreUnfixed: opts.ignoreUnfixed,
        ignoreFile: opts.ignoreFile,
        ignorePolicy: opts.ignorePolicy,
      });
      const env = trivyEnv({ cacheDir, extraEnv: options.extraEnv });
      return run('sbom', args, env, [], opts.signal, opts.niceness);
    },

    async convertToCycloneDx(reportFile, opts = {}) {
      const args = convertArgs({ report: reportFile, cacheDir, timeoutMs });
      const env = trivyEnv({ cacheDir, extraEnv: options.extraEnv });
      return run('convert', args, env, [], opts.signal, opts.niceness);
    },

    async auditConfigs(dir, opts = {}) {
      const input: ConfigAuditArgsInput = {
        dir,
        cacheDir,
        timeoutMs,
        severities: opts.severities,
        includePassed: opts.includePassed,
        k8sVersion: opts.k8sVersion,
      };
      const env = trivyEnv({ cacheDir, extraEnv: options.extraEnv });
      return run('config', configAuditArgs(input), env, [], opts.signal);
    },

    async version() {
      const env = trivyEnv({ cacheDir, extraEnv: options.extraEnv });
      const { json } = await run('version', versionArgs(cacheDir), env, [], undefined);
      return parseVersion(json);
    },

    async close() {
      await workers?.close();
    },
  };
}

/** What run() reads of a finished run, from a process of its own or from a trivy worker. */
type Outcome = Omit<BoundedRun, 'pid'> & { pid: number | undefined; fatal?: string };

function outcomeOf(r: WorkerRunResult): Outcome {
  return {
    pid: r.pid,
    stdout: r.output,
    // No log of the run's own: what trivy returned is all it said.
    stderr: r.error ?? r.crashed?.stderr ?? '',
    // A worker gone during a run failed it, whatever its exit status.
    exitCode: r.crashed ? r.crashed.exitCode || undefined : r.error !== undefined ? 1 : 0,
    signal: r.crashed?.signal,
    timedOut: r.timedOut,
    aborted: r.aborted,
    outputTooLarge: r.outputTooLarge,
    forceKilled: false,
    pipesCut: false,
    spawnError: r.crashed?.spawnError,
    ...(r.error !== undefined && { fatal: r.error }),
  };
}

/**
 * Runs a trivy process with a TMPDIR of its own, removed after it: trivy unpacks layers and files
 * into a temporary directory it removes only when it ends normally, not when it is killed. Named
 * like the scanner's scratch directories, whose start-up sweep removes those a killed scanner left.
 */
async function withRunTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-scan-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
