import { MAX_ERROR_MESSAGE_LENGTH, type ScanError } from '@fleetscan/bus';
import { isPermanentCode, RegistryLookupError } from './errors.ts';

/** Room kept for the note saying how much was cut. */
const MESSAGE_ROOM = MAX_ERROR_MESSAGE_LENGTH - 40;

/**
 * Maps anything thrown while scanning to the error a result carries. `secrets` (the request's
 * registry password) are cut out of the message whatever produced it: results, logs and reports
 * all show this message. The message is cut to fit the result's schema, so an error result can
 * always be published (a registry quoting a huge reference back must not make it too large).
 */
export function classifyFailure(err: unknown, secrets: readonly string[] = []): ScanError {
  const redact = (m: string) =>
    secrets.reduce((s, secret) => (secret ? s.split(secret).join('[redacted]') : s), m);
  const fit = (m: string) =>
    m.length <= MESSAGE_ROOM ? m : `${m.slice(0, MESSAGE_ROOM)}… (${m.length - MESSAGE_ROOM} more)`;
  if (err instanceof RegistryLookupError) {
    return { code: err.code, message: fit(redact(err.message)), permanent: isPermanentCode(err.code) };
  }
  const e = err as { code?: unknown; message?: unknown; permanent?: unknown };
  const code = typeof e?.code === 'string' ? e.code.slice(0, 64) : 'FAILED';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const permanent = typeof e?.permanent === 'boolean' ? e.permanent : isPermanentCode(code);
  return { code, message: fit(redact(message)), permanent };
}

/**
 * Whether a failure ends the request with an error result now, rather than a retry: a permanent one
 * at once; a transient one on delivery `scanAttempts` (SCAN_ATTEMPTS), or on the consumer's last.
 * From then on the writer's failure record and the watcher's backoff do the retrying.
 */
export function endsWithError(
  f: Pick<ScanError, 'permanent'>,
  at: { delivery: number; lastDelivery: boolean },
  scanAttempts: number,
): boolean {
  return f.permanent || at.lastDelivery || at.delivery >= scanAttempts;
}
