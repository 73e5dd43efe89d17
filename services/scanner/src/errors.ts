export const ScanErrorCode = {
  ImageNotFound: 'IMAGE_NOT_FOUND',
  Unauthorized: 'UNAUTHORIZED',
  InvalidReference: 'INVALID_REFERENCE',
  Transient: 'TRANSIENT',
  /** Sealed registry credentials this scanner cannot open (no key, another key, tampered). */
  Credentials: 'CREDENTIALS',
} as const;
export type ScanErrorCode = (typeof ScanErrorCode)[keyof typeof ScanErrorCode];

const PERMANENT: ReadonlySet<string> = new Set([
  ScanErrorCode.ImageNotFound,
  ScanErrorCode.Unauthorized,
  ScanErrorCode.InvalidReference,
  ScanErrorCode.Credentials,
]);

/** A registry lookup failed; `code` says whether retrying can help. */
export class RegistryLookupError extends Error {
  override readonly name = 'RegistryLookupError';
  readonly code: ScanErrorCode;
  readonly status: number | undefined;
  constructor(code: ScanErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
  }
}

export function isPermanentCode(code: string): boolean {
  return PERMANENT.has(code);
}

/**
 * A request's sealed credentials cannot be used. The message never carries anything from the
 * sealed box or from the decryption (whose errors can quote the plaintext), and no `cause`.
 */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  readonly code = ScanErrorCode.Credentials;
  readonly permanent = true;
}

/** The scanner is stopping: the work was given up so its message can go back to the stream. */
export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError';
  readonly code = 'SHUTTING_DOWN' as const;
}
