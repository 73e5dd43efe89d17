/**
 * What went wrong running trivy, in the terms callers branch on. trivy exits 1 for every
 * failure, so the code is read from its stderr (the FATAL line and the registry errors under
 * it); the texts matched here were captured from trivy v0.74 in testdata/stderr/.
 */
export const TrivyErrorCode = {
  /** The registry has no such repository, tag or digest. */
  ImageNotFound: 'IMAGE_NOT_FOUND',
  /** The registry refused us (401/403): no, wrong or insufficient credentials. */
  Unauthorized: 'UNAUTHORIZED',
  /** The image reference does not parse. */
  InvalidReference: 'INVALID_REFERENCE',
  /** The image exists but trivy cannot scan it (no linux/amd64 child, unknown media type). */
  Unsupported: 'UNSUPPORTED',
  /** Our time budget ran out and trivy was killed. */
  Timeout: 'TIMEOUT',
  /** The caller aborted (shutdown); the work was not done, so it is not a result. */
  Aborted: 'ABORTED',
  /** Network trouble, registry 5xx or rate limiting: retry later. */
  Transient: 'TRANSIENT',
  /** stdout grew past the configured limit; the same image will do it again. */
  OutputTooLarge: 'OUTPUT_TOO_LARGE',
  /** trivy's JSON did not match what we depend on. */
  Parse: 'PARSE',
  /** A config audit's input is not a Kubernetes manifest trivy can read: sending it again cannot help. */
  InvalidManifest: 'INVALID_MANIFEST',
  /** Anything else (missing DB, unknown flag, trivy crash, spawn failure): retry, then look. */
  Failed: 'FAILED',
} as const;
export type TrivyErrorCode = (typeof TrivyErrorCode)[keyof typeof TrivyErrorCode];

/** Retrying cannot help until something outside changes (the image, the reference, the credentials). */
const PERMANENT: ReadonlySet<TrivyErrorCode> = new Set<TrivyErrorCode>([
  TrivyErrorCode.ImageNotFound,
  TrivyErrorCode.Unauthorized,
  TrivyErrorCode.InvalidReference,
  TrivyErrorCode.Unsupported,
  TrivyErrorCode.OutputTooLarge,
  TrivyErrorCode.Parse,
  TrivyErrorCode.InvalidManifest,
]);

export interface TrivyErrorDetails {
  exitCode?: number;
  signal?: string;
  /** The tail of trivy's stderr, ANSI-free and with credentials redacted. */
  stderr?: string;
  cause?: unknown;
}

export class TrivyError extends Error {
  override readonly name = 'TrivyError';
  readonly code: TrivyErrorCode;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string | undefined;
  /** Same as isPermanent(this); a field so that code reading plain `{ code, permanent }` works. */
  readonly permanent: boolean;

  constructor(code: TrivyErrorCode, message: string, details: TrivyErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.code = code;
    this.permanent = PERMANENT.has(code);
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr;
  }
}

export function isTrivyError(e: unknown, code?: TrivyErrorCode): e is TrivyError {
  return e instanceof TrivyError && (code === undefined || e.code === code);
}

/** True when retrying the same scan cannot succeed; anything that is not a TrivyError is not permanent. */
export function isPermanent(e: unknown): boolean {
  return e instanceof TrivyError && PERMANENT.has(e.code);
}

// Registry error codes are from the OCI distribution spec, as go-containerregistry prints them
// (`CODE: message`); bare statuses come from its transport when the body is empty (HEAD).
const NOT_FOUND = /\b(MANIFEST_UNKNOWN|NAME_UNKNOWN|BLOB_UNKNOWN)\b|unexpected status code 404\b/;
const UNAUTHORIZED = /\b(UNAUTHORIZED|DENIED)\b|unexpected status code 40[13]\b/;
const INVALID_REFERENCE =
  /could not parse reference|failed to parse the image name|\b(NAME_INVALID|TAG_INVALID)\b/;
const UNSUPPORTED = /no child with platform|unsupported (MediaType|media type)|\bUNSUPPORTED\b/;
const TRANSIENT =
  /\bTOOMANYREQUESTS\b|unexpected status code (429|5\d\d)\b|connection refused|connection reset|no such host|i\/o timeout|TLS handshake timeout|network is unreachable|\bEOF\b|server misbehaving|temporary failure/i;
const TIMEOUT = /context deadline exceeded/;

export interface FailedRun {
  /** `image` or `config`, for the message. */
  command: string;
  exitCode?: number;
  signal?: string;
  timedOut?: boolean;
  timeoutMs?: number;
  aborted?: boolean;
  outputTooLarge?: boolean;
  /** Already cleaned (see cleanStderr). */
  stderr: string;
  /**
   * The error trivy returned, when known without its log (a run in a trivy worker): what its CLI
   * prints after "Fatal error". Otherwise read from stderr's FATAL line.
   */
  fatal?: string;
  cause?: unknown;
}

/**
 * Maps a failed trivy run to a TrivyError. What we did to the process (timeout, abort) wins
 * over what it printed; then not-found beats unauthorized, because with credentials trivy
 * also retries anonymously and prints both the real MANIFEST_UNKNOWN and the anonymous 401.
 */
export function classifyFailure(run: FailedRun): TrivyError {
  const details: TrivyErrorDetails = {
    ...(run.exitCode !== undefined && { exitCode: run.exitCode }),
    ...(run.signal !== undefined && { signal: run.signal }),
    stderr: run.stderr,
    ...(run.cause !== undefined && { cause: run.cause }),
  };
  const what = `trivy ${run.command}`;
  if (run.aborted) return new TrivyError(TrivyErrorCode.Aborted, `${what}: aborted`, details);
  if (run.timedOut) {
    const after = run.timeoutMs === undefined ? '' : ` after ${run.timeoutMs} ms`;
    return new TrivyError(TrivyErrorCode.Timeout, `${what}: timed out${after}, killed`, details);
  }
  if (run.outputTooLarge) {
    return new TrivyError(TrivyErrorCode.OutputTooLarge, `${what}: output exceeded the size limit`, details);
  }
  const fatal = run.fatal?.replace(/\s+/g, ' ').trim() ?? fatalMessage(run.stderr);
  const text = fatal ?? run.stderr;
  const code = codeFor(text);
  const reason =
    fatal ??
    (run.signal
      ? `killed by ${run.signal}`
      : `exited ${run.exitCode ?? 'abnormally'}${lastLine(run.stderr)}`);
  return new TrivyError(code, `${what}: ${reason}`, details);
}

function codeFor(text: string): TrivyErrorCode {
  if (INVALID_REFERENCE.test(text)) return TrivyErrorCode.InvalidReference;
  if (NOT_FOUND.test(text)) return TrivyErrorCode.ImageNotFound;
  if (UNAUTHORIZED.test(text)) return TrivyErrorCode.Unauthorized;
  if (UNSUPPORTED.test(text)) return TrivyErrorCode.Unsupported;
  if (TIMEOUT.test(text)) return TrivyErrorCode.Timeout;
  if (TRANSIENT.test(text)) return TrivyErrorCode.Transient;
  return TrivyErrorCode.Failed;
}

/**
 * trivy logs `<time>\tFATAL\tFatal error\t<wrapped error>` and, for multi-errors, indented
 * `* remote error: ...` lines after it; together they are the reason.
 */
export function fatalMessage(stderr: string): string | undefined {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => /\tFATAL\t/.test(l));
  if (at < 0) return undefined;
  const head = (lines[at] ?? '')
    .split('\t')
    .slice(2)
    .join(': ')
    .replace(/^Fatal error: /, '');
  const rest = lines
    .slice(at + 1)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return [head, ...rest].join(' ');
}

function lastLine(s: string): string {
  const line = s.trimEnd().split('\n').at(-1)?.trim();
  return line ? `: ${line}` : '';
}
