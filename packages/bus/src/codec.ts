import type { z } from 'zod';

export const BusErrorCode = {
  /** Not JSON, or JSON of the wrong shape: a poison message. */
  InvalidMessage: 'INVALID_MESSAGE',
  BlobMissing: 'BLOB_MISSING',
  /** A blob read ended short or did not match its digest. */
  BlobCorrupt: 'BLOB_CORRUPT',
  /** A delivery's signal: the consumer is stopping; the message goes back to the stream. */
  Stopping: 'STOPPING',
  /** A delivery's signal: its handler ran past its bound. */
  Deadline: 'DEADLINE',
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

export class BusError extends Error {
  override readonly name = 'BusError';
  readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts);
    this.code = code;
  }
}

export function isBusError(e: unknown, code?: BusErrorCode): e is BusError {
  return e instanceof BusError && (code === undefined || e.code === code);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Validates and serialises a message; throws BusError(INVALID_MESSAGE) naming the first bad field. */
export function encode<T>(schema: z.ZodType<T>, value: T): Uint8Array {
  // Validate on the way out too: a message past a limit is caught here rather than by every consumer,
  // and the error names the field, never its (possibly huge) value.
  const res = schema.safeParse(value);
  if (!res.success) throw invalid(res.error, 'cannot send');
  return enc.encode(JSON.stringify(res.data));
}

function invalid(error: z.ZodError, what: string): BusError {
  const i = error.issues[0];
  return new BusError(
    BusErrorCode.InvalidMessage,
    `${what}: ${i?.path.join('.') || '(root)'}: ${i?.message}`,
    { cause: error },
  );
}

/** Parses a message body; throws BusError(INVALID_MESSAGE) with the reason. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array): T {
  let json: unknown;
  try {
    json = JSON.parse(dec.decode(data));
  } catch (cause) {
    throw new BusError(BusErrorCode.InvalidMessage, 'message is not JSON', { cause });
  }
  const res = schema.safeParse(json);
  if (!res.success) throw invalid(res.error, 'invalid message');
  return res.data;
}
