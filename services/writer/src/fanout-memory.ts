import { type ImageScanResult, ownerFilterKey, ownerFilterMatches } from '@fleetscan/bus';
import type { Clock } from '@fleetscan/service';

/** How long a namespace's last fan-out of an image is remembered for owners seen after it. */
export const RECENT_FANOUT_MS = 10 * 60_000;
/** Namespace × image (× owner filter) fan-outs remembered at most (oldest first out). */
export const RECENT_FANOUT_MAX = 10_000;

export interface FanoutMemory {
  /** `r` was fanned out in its namespace: it is what a late owner there is written from. */
  remember(r: ImageScanResult): void;
  /**
   * The last fan-out of `image` in `namespace` that is for an owner named `owner`, while it is
   * remembered; with `askedSinceMs`, the one asked for last, if that was at or after it.
   */
  recall(namespace: string, image: string, owner: string, askedSinceMs?: number): ImageScanResult | undefined;
  /** How many fan-outs are remembered now. */
  size(): number;
}

/**
 * Each namespace's last fan-out of an image, for RECENT_FANOUT_MS and at most RECENT_FANOUT_MAX of
 * them; one per owner filter, since results with one (per-workload settings) answer part of the
 * namespace only. Only the result message is kept (its data stays in the blob store), so a full
 * memory is a few MB. Why the writer needs it: late-owners.ts.
 */
export function createFanoutMemory(d: { clock: Clock; ttlMs?: number; max?: number }): FanoutMemory {
  const ttlMs = d.ttlMs ?? RECENT_FANOUT_MS;
  const max = d.max ?? RECENT_FANOUT_MAX;
  // In the order they were remembered (re-inserted each time), so the oldest come first. `newest`
  // is the one asked for last: two lanes' answers arrive in either order, and a bulk refresh asked
  // before a new owner existed may be fanned out after that owner's own urgent answer.
  const recent = new Map<string, { r: ImageScanResult; newest: ImageScanResult; atMs: number }>();
  // Per namespace × image, the keys of `recent` (one per owner filter).
  const byImage = new Map<string, Set<string>>();
  const imageKey = (namespace: string, image: string) => `${namespace}\n${image}`;
  const keyOf = (r: ImageScanResult) => `${imageKey(r.namespace, r.image)}\n${ownerFilterKey(r.ownerFilter)}`;
  const fresh = (atMs: number, nowMs: number) => nowMs - atMs < ttlMs;
  const forget = (key: string, r: ImageScanResult) => {
    recent.delete(key);
    const ik = imageKey(r.namespace, r.image);
    const keys = byImage.get(ik);
    keys?.delete(key);
    if (keys?.size === 0) byImage.delete(ik);
  };

  return {
    remember(r) {
      const now = d.clock.now().getTime();
      const key = keyOf(r);
      const before = recent.get(key);
      const newest = before && askedAt(before.newest) > askedAt(r) ? before.newest : r;
      recent.delete(key);
      recent.set(key, { r, newest, atMs: now });
      const ik = imageKey(r.namespace, r.image);
      byImage.set(ik, (byImage.get(ik) ?? new Set()).add(key));
      for (const [k, v] of recent) {
        if (recent.size <= max && fresh(v.atMs, now)) break;
        forget(k, v.r);
      }
    },
    recall(namespace, image, owner, askedSinceMs) {
      const now = d.clock.now().getTime();
      for (const key of byImage.get(imageKey(namespace, image)) ?? []) {
        const hit = recent.get(key);
        if (!hit || !fresh(hit.atMs, now) || !ownerFilterMatches(hit.r.ownerFilter, owner)) continue;
        if (askedSinceMs === undefined) return hit.r;
        if (askedAt(hit.newest) >= askedSinceMs) return hit.newest;
      }
      return undefined;
    },
    size: () => recent.size,
  };
}

/** When a result's request was made, in ms; -Infinity without a time. */
function askedAt(r: ImageScanResult): number {
  const t = r.requestedAt ? Date.parse(r.requestedAt) : Number.NaN;
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}
