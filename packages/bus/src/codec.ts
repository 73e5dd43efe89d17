import type { z } from 'zod';

export const BusErrorCode = {
  /** Not JSON, or JSON of the wrong shape: a poison message. */
  InvalidMessage: 'INVALID_MESSAGE',
  BlobMissing: 'BLOB_MISSING',
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

export function encode<T>(schema: z.ZodType<T>, value: T): Uint8Array {
  // Validate on the way out too: a bad message is our bug, better caught here than by every consumer.
  return enc.encode(JSON.stringify(schema.parse(value)));
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
  if (!res.success) {
    const i = res.error.issues[0];
    throw new BusError(
      BusErrorCode.InvalidMessage,
      `invalid message: ${i?.path.join('.') || '(root)'}: ${i?.message}`,
      {
        cause: res.error,
      },
    );
  }
  return res.data;
}
