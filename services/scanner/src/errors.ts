export const ScanErrorCode = {
  ImageNotFound: 'IMAGE_NOT_FOUND',
  Unauthorized: 'UNAUTHORIZED',
  InvalidReference: 'INVALID_REFERENCE',
  Transient: 'TRANSIENT',
} as const;
export type ScanErrorCode = (typeof ScanErrorCode)[keyof typeof ScanErrorCode];

const PERMANENT: ReadonlySet<string> = new Set([
  ScanErrorCode.ImageNotFound,
  ScanErrorCode.Unauthorized,
  ScanErrorCode.InvalidReference,
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
