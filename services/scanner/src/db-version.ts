import { setTimeout as sleep } from 'node:timers/promises';
import { bounded, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import { backoff, type Logger } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';
import type { ScannerMetrics } from './metrics.ts';

export interface DbVersionDeps {
  /** The fleet state bucket (STATE_BUCKET). */
  kv: Pick<KV, 'get' | 'create' | 'update'>;
  /** Reads <cacheDir>/db/metadata.json's UpdatedAt. */
  dbUpdatedAt(): Promise<string>;
  intervalMs: number;
  logger: Logger;
  metrics: Pick<ScannerMetrics, 'dbUpdated'>;
  /** Told the watch's state after every check: feeds /readyz. */
  onState(ok: boolean, reason?: string): void;
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Tells the fleet which trivy DB the scanners match with: `STATE_KEY_TRIVY_DB` in the state
 * bucket holds the DB's UpdatedAt, put at start and whenever this replica's DB changes (the
 * metadata file is re-read every intervalMs). Watchers refresh every report made with an older
 * DB; the new DB misses every cached result, so those refreshes are SBOM re-matches.
 *
 * The key only moves forward (compare-and-set on the revision): during a rollout, a replica
 * still on the old DB does not set it back and make watchers refresh twice.
 *
 * Supervised: a check that fails (the DB unreadable, the bucket unreachable) makes the replica
 * not ready, with the reason, and is tried again with backoff (never later than intervalMs) until
 * one succeeds. The first check is awaited, so a started scanner has announced its DB.
 */
export async function startDbVersionPublisher(d: DbVersionDeps): Promise<{ stop(): Promise<void> }> {
  const abort = new AbortController();
  const wait = d.wait ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }));
  let published: string | undefined;
  let failures = 0;

  async function check(): Promise<void> {
    let version: string;
    try {
      version = await d.dbUpdatedAt();
    } catch (err) {
      throw new Error(`cannot read the trivy DB version: ${(err as Error).message}`, { cause: err });
    }
    const at = Date.parse(version);
    if (!Number.isNaN(at)) d.metrics.dbUpdated.set(at / 1000);
    if (version === published) return;
    let result: Awaited<ReturnType<typeof advance>>;
    try {
      result = await advance(d.kv, version);
    } catch (err) {
      throw new Error(`cannot publish the trivy DB version: ${(err as Error).message}`, { cause: err });
    }
    d.logger.info({ dbUpdatedAt: version, previous: published, fleet: result }, 'trivy DB version');
    published = version;
  }

  /** One check; returns how long to wait before the next. */
  async function step(): Promise<number> {
    try {
      await check();
      if (failures > 0) d.logger.info({ after: failures }, 'trivy DB version check works again');
      failures = 0;
      d.onState(true);
      return d.intervalMs;
    } catch (err) {
      failures++;
      const reason = bounded((err as Error).message);
      const retryInMs = Math.min(d.intervalMs, backoff(failures - 1, 1000, d.intervalMs, d.random));
      d.onState(false, reason);
      d.logger.warn({ err: reason, failures, retryInMs }, 'trivy DB version check failed');
      return retryInMs;
    }
  }

  let delay = await step();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await wait(delay, abort.signal).catch(() => {});
      if (abort.signal.aborted) return;
      delay = await step();
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/**
 * Puts `version` unless the key already holds it or a newer one. Returns what happened:
 * `set`, `same`, or `newer` (the fleet already has a newer DB).
 */
export async function advance(kv: DbVersionDeps['kv'], version: string): Promise<'set' | 'same' | 'newer'> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const e = await kv.get(STATE_KEY_TRIVY_DB);
    const current = e && e.operation === 'PUT' ? e.string() : undefined;
    if (current === version) return 'same';
    if (current !== undefined && !isNewer(version, current)) return 'newer';
    try {
      if (e && e.operation === 'PUT') await kv.update(STATE_KEY_TRIVY_DB, version, e.revision);
      else await kv.create(STATE_KEY_TRIVY_DB, version);
      return 'set';
    } catch {
      // another replica wrote meanwhile: look again
    }
  }
  throw new Error(`${STATE_KEY_TRIVY_DB}: lost the compare-and-set five times`);
}

/** UpdatedAt values are RFC 3339; anything unparsable counts as older than a parsable one. */
function isNewer(a: string, b: string): boolean {
  const x = Date.parse(a);
  const y = Date.parse(b);
  if (Number.isNaN(y)) return true;
  return !Number.isNaN(x) && x > y;
}
