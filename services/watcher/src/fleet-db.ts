import { bounded, STATE_BUCKET, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import { backoff, type Logger, pause, type Timers } from '@fleetscan/service';
import type { DirectStreamAPI, StoredMsg } from '@nats-io/jetstream';

/** How often the DB version is read when all is well (jittered ±20 %, so watchers do not ask together). */
export const FLEET_DB_POLL_MS = 5000;
/** The longest wait between reads after failures (backoff from FLEET_DB_POLL_MS). */
const MAX_BACKOFF_MS = 60_000;

const STREAM = `KV_${STATE_BUCKET}`;
const SUBJECT = `$KV.${STATE_BUCKET}.${STATE_KEY_TRIVY_DB}`;

/**
 * Follows the scanner fleet's trivy DB version (KV `fleetscan-state`, key `trivy-db`) by reading
 * the key's last message with a direct get every FLEET_DB_POLL_MS. Not a KV watch: a watch is a
 * consumer, and an identity allowed to create consumers can ask for push delivery to any subject
 * (permissions see the create's subject, not its body: ARCHITECTURE.md, "Many clusters"). A direct
 * get of the last message by subject names the subject in the request's own subject
 * (`$JS.API.DIRECT.GET.KV_fleetscan-state.$KV.fleetscan-state.trivy-db`), so the watcher's identity
 * may read that one key and create nothing. A new DB is still noticed within seconds, long before
 * reports' TTL refreshes. Only changes are reported (the first version read is one), from messages
 * newer than the last one read; a deleted key reports nothing. Reads that fail are retried with
 * backoff until stop().
 */
export function followFleetDb(d: {
  direct: Pick<DirectStreamAPI, 'getMessage'>;
  timers: Timers;
  logger: Pick<Logger, 'warn' | 'info'>;
  onVersion(version: string): void;
  onFailure?(): void;
  random?: () => number;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  const abort = new AbortController();
  const interval = d.intervalMs ?? FLEET_DB_POLL_MS;
  const random = d.random ?? Math.random;
  let reported: string | undefined;
  let seen = 0;
  const loop = (async () => {
    for (let failures = 0; !abort.signal.aborted; ) {
      let wait: number;
      try {
        const m = await d.direct.getMessage(STREAM, { last_by_subj: SUBJECT });
        if (failures > 0) d.logger.info({ after: failures }, 'reading the fleet DB version works again');
        failures = 0;
        // Any replica may answer a direct get: one that lags returns an older message, which must not
        // set the version back (the key only moves forward). Its sequence says which is newer. (A bucket
        // deleted and made again starts its sequences over: watchers follow it after a restart.)
        const version = m && m.seq > seen ? versionOf(m) : undefined;
        if (m && m.seq > seen) seen = m.seq;
        if (version !== undefined && version !== reported && !abort.signal.aborted) {
          reported = version;
          d.onVersion(version);
        }
        wait = Math.round(interval * (0.8 + 0.4 * random()));
      } catch (err) {
        d.onFailure?.();
        wait = backoff(failures++, interval, MAX_BACKOFF_MS, random);
        d.logger.warn(
          { err: bounded((err as Error).message), failures, retryInMs: wait },
          'reading the fleet DB version failed',
        );
      }
      await pause(d.timers, wait, abort.signal);
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/** The version a KV entry's message holds: none when there is no message, or it marks a deletion. */
export function versionOf(m: Pick<StoredMsg, 'header' | 'string'> | null): string | undefined {
  if (!m) return undefined;
  const op = m.header?.get('KV-Operation');
  if (op === 'DEL' || op === 'PURGE') return undefined;
  const v = m.string();
  return v === '' ? undefined : v;
}
