import type { ScanError } from '@fleetscan/bus';
import { isPermanentCode, RegistryLookupError } from './errors.ts';

/** Maps anything thrown while scanning to the error a result carries. */
export function classifyFailure(err: unknown): ScanError {
  if (err instanceof RegistryLookupError) {
    return { code: err.code, message: err.message, permanent: isPermanentCode(err.code) };
  }
  const e = err as { code?: unknown; message?: unknown; permanent?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'FAILED';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const permanent = typeof e?.permanent === 'boolean' ? e.permanent : isPermanentCode(code);
  return { code, message: message.slice(0, 2000), permanent };
}
