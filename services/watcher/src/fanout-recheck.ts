import type { Timers } from '@fleetscan/service';

/**
 * After a report for an image lands, look again at the namespace's other owners of that image: an
 * owner that appeared while the image's request was pending may have missed the writer's fan-out
 * (the writer had not seen it yet). The first look comes `firstMs` after the latest report (a burst
 * of reports from one fan-out makes one look); while some owners still wait, `onWaiting` asks again
 * and the look repeats with doubling delays, `retries` more times (5, 10, 20, 40, 80 s). A fan-out
 * that only rewrites unchanged reports produces no event, so nothing else would wake the watcher
 * before the resync.
 */
export interface FanoutRecheck {
  reportLanded(namespace: string, image: string): void;
  /** Images with a look pending. */
  readonly size: number;
  stop(): void;
}

export function createFanoutRecheck(opts: {
  timers: Timers;
  firstMs: number;
  retries: number;
  /** The owners of `image` in `namespace` still lacking their report, as owner keys. */
  waiting: (namespace: string, image: string) => string[];
  onWaiting: (namespace: string, image: string, owners: string[]) => void;
}): FanoutRecheck {
  const looks = new Map<string, () => void>();
  let stopped = false;
  const look = (namespace: string, image: string, attempt: number) => {
    const key = `${namespace}/${image}`;
    looks.get(key)?.();
    looks.delete(key);
    if (stopped) return;
    looks.set(
      key,
      opts.timers.after(opts.firstMs * 2 ** attempt, () => {
        looks.delete(key);
        const owners = opts.waiting(namespace, image);
        if (owners.length === 0) return;
        opts.onWaiting(namespace, image, owners);
        if (attempt < opts.retries) look(namespace, image, attempt + 1);
      }),
    );
  };
  return {
    reportLanded: (namespace, image) => look(namespace, image, 0),
    get size() {
      return looks.size;
    },
    stop() {
      stopped = true;
      for (const cancel of looks.values()) cancel();
      looks.clear();
    },
  };
}
