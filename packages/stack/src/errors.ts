export const StackErrorCode = {
  MissingBinary: 'MISSING_BINARY',
  StartFailed: 'START_FAILED',
  NotReady: 'NOT_READY',
  Registry: 'REGISTRY',
} as const;
export type StackErrorCode = (typeof StackErrorCode)[keyof typeof StackErrorCode];

/** A component of the local stack failed; names the component and where its log is. */
export class StackError extends Error {
  override readonly name = 'StackError';
  readonly code: StackErrorCode;
  readonly component: string;
  readonly logFile: string | undefined;

  constructor(
    code: StackErrorCode,
    component: string,
    message: string,
    opts: { logFile?: string; output?: string; cause?: unknown } = {},
  ) {
    const where = opts.logFile ? `\n  log: ${opts.logFile}` : '';
    const tail = opts.output ? `\n  last output:\n${indent(opts.output)}` : '';
    super(`${component}: ${message}${where}${tail}`, { cause: opts.cause });
    this.code = code;
    this.component = component;
    this.logFile = opts.logFile;
  }
}

export function isStackError(e: unknown): e is StackError {
  return e instanceof StackError;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
