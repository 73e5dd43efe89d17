import type { ScanError } from '@fleetscan/bus';
import { isPermanentCode, RegistryLookupError } from './errors.ts';

/**
 * Maps anything thrown while scanning to the error a result carries. `secrets` (the request's
 * registry password) are cut out of the message whatever produced it: results, logs and reports
 * all show this message.
 */
export function classifyFailure(err: unknown, secrets: readonly string[] = []): ScanError {
  const redact = (m: string) =>
    secrets.reduce((s, secret) => (secret ? s.split(secret).join('[redacted]') : s), m);
  if (err instanceof RegistryLookupError) {
    return { code: err.code, message: redact(err.message), permanent: isPermanentCode(err.code) };
  }
  const e = err as { code?: unknown; message?: unknown; permanent?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'FAILED';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const permanent = typeof e?.permanent === 'boolean' ? e.permanent : isPermanentCode(code);
  return { code, message: redact(message).slice(0, 2000), permanent };
}
