import { setTimeout as sleep } from 'node:timers/promises';
import { bounded, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import { backoff, type Logger } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';

/**
 * Follows the scanner fleet's trivy DB version (KV `fleetscan-state`, key `trivy-db`) with a watch
 * of that one key: a new DB is noticed at once, before reports' TTL refreshes (which re-resolve
 * tags) get in the way. The watch is an ordered consumer whose filter is the key's subject; the
 * watcher's identity may create consumers on the state bucket with that filter only. A watch that
 * ends or fails is started again with backoff until stop().
 */
export function followFleetDb(d: {
  kv: Pick<KV, 'watch'>;
  logger: Logger;
  onVersion(version: string): void;
  onFailure?(): void;
  random?: () => number;
}): { stop(): Promise<void> } {
  const abort = new AbortController();
  let current: { stop(): void } | undefined;
  const loop = (async () => {
    for (let failures = 0; !abort.signal.aborted; ) {
      try {
        const w = await d.kv.watch({ key: STATE_KEY_TRIVY_DB });
        current = w;
        if (abort.signal.aborted) w.stop();
        for await (const e of w) {
          failures = 0;
          if (e.operation === 'PUT') d.onVersion(e.string());
        }
      } catch (err) {
        d.onFailure?.();
        d.logger.warn({ err: bounded((err as Error).message) }, 'watch of the fleet DB version failed');
      }
      if (abort.signal.aborted) return;
      await sleep(backoff(failures++, 1000, 30_000, d.random), undefined, { signal: abort.signal }).catch(
        () => {},
      );
    }
  })();
  return {
    async stop() {
      abort.abort();
      current?.stop();
      await loop;
    },
  };
}
