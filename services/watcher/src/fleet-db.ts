import { bounded, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import type { Logger, Timers } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';

/** How often the fleet's DB version is read: DBs change every few hours; one small read per cluster. */
export const FLEET_DB_POLL_MS = 15_000;

/**
 * Follows the scanner fleet's trivy DB version (KV `fleetscan-state`, key `trivy-db`) by reading
 * that one key every FLEET_DB_POLL_MS. A read, not a KV watch: a watch is a consumer the watcher
 * would have to create on the state bucket, and its identity may only read that one key
 * (`$JS.API.DIRECT.GET.KV_fleetscan-state.$KV.fleetscan-state.trivy-db`). A failed read is logged
 * and tried again at the next tick.
 */
export function followFleetDb(d: {
  kv: Pick<KV, 'get'>;
  timers: Timers;
  logger: Logger;
  onVersion(version: string): void;
  onFailure?(): void;
}): () => void {
  let last: string | undefined;
  let failing = false;
  const read = async () => {
    try {
      const e = await d.kv.get(STATE_KEY_TRIVY_DB);
      failing = false;
      if (e?.operation !== 'PUT') return;
      const v = e.string();
      if (v !== last) {
        last = v;
        d.onVersion(v);
      }
    } catch (err) {
      d.onFailure?.();
      if (!failing)
        d.logger.warn({ err: bounded((err as Error).message) }, 'cannot read the fleet DB version');
      failing = true;
    }
  };
  void read();
  return d.timers.every(FLEET_DB_POLL_MS, () => void read());
}
