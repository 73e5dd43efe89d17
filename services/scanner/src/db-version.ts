import { STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import type { Logger } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';
import type { ScannerMetrics } from './metrics.ts';

export interface DbVersionDeps {
  /** The fleet state bucket (STATE_BUCKET). */
  kv: KV;
  /** Reads <cacheDir>/db/metadata.json's UpdatedAt. */
  dbUpdatedAt(): Promise<string>;
  intervalMs: number;
  logger: Logger;
  metrics: ScannerMetrics;
}

/**
 * Tells the fleet which trivy DB the scanners match with: `STATE_KEY_TRIVY_DB` in the state
 * bucket holds the DB's UpdatedAt, put at start and whenever this replica's DB changes (the
 * metadata file is re-read every intervalMs). Watchers refresh every report made with an older
 * DB; the new DB misses every cached result, so those refreshes are SBOM re-matches.
 *
 * The key only moves forward (compare-and-set on the revision): during a rollout, a replica
 * still on the old DB does not set it back and make watchers refresh twice.
 */
export async function startDbVersionPublisher(d: DbVersionDeps): Promise<{ stop(): void }> {
  let published: string | undefined;
  let busy = false;

  async function check(): Promise<void> {
    let version: string;
    try {
      version = await d.dbUpdatedAt();
    } catch (err) {
      d.logger.warn({ err: (err as Error).message }, 'cannot read the trivy DB version');
      return;
    }
    const at = Date.parse(version);
    if (!Number.isNaN(at)) d.metrics.dbUpdated.set(at / 1000);
    if (version === published) return;
    try {
      const result = await advance(d.kv, version);
      d.logger.info({ dbUpdatedAt: version, previous: published, fleet: result }, 'trivy DB version');
      published = version;
    } catch (err) {
      d.logger.warn({ err: (err as Error).message }, 'cannot publish the trivy DB version; will retry');
    }
  }

  const tick = () => {
    if (busy) return;
    busy = true;
    void check().finally(() => {
      busy = false;
    });
  };
  await check();
  const timer = setInterval(tick, d.intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * Puts `version` unless the key already holds it or a newer one. Returns what happened:
 * `set`, `same`, or `newer` (the fleet already has a newer DB).
 */
export async function advance(kv: KV, version: string): Promise<'set' | 'same' | 'newer'> {
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
