import type { ImageScanResult } from '@fleetscan/bus';
import type { Clock } from '@fleetscan/service';

/** How long a namespace's last fan-out of an image is remembered for owners seen after it. */
export const RECENT_FANOUT_MS = 10 * 60_000;
/** Namespace × image pairs remembered at most (oldest first out). */
export const RECENT_FANOUT_MAX = 10_000;

export interface FanoutMemory {
  /** `r` was fanned out in its namespace: it is what a late owner there is written from. */
  remember(r: ImageScanResult): void;
  /** The namespace's last fan-out of `image`, while it is remembered. */
  recall(namespace: string, image: string): ImageScanResult | undefined;
  /** How many fan-outs are remembered now. */
  size(): number;
}

/**
 * Each namespace's last fan-out of an image, for RECENT_FANOUT_MS and at most RECENT_FANOUT_MAX of
 * them. Only the result message is kept (its data stays in the blob store), so a full memory is a
 * few MB. Why the writer needs it: late-owners.ts.
 */
export function createFanoutMemory(d: { clock: Clock; ttlMs?: number; max?: number }): FanoutMemory {
  const ttlMs = d.ttlMs ?? RECENT_FANOUT_MS;
  const max = d.max ?? RECENT_FANOUT_MAX;
  // In the order they were remembered (re-inserted each time), so the oldest come first.
  const recent = new Map<string, { r: ImageScanResult; atMs: number }>();
  const keyOf = (namespace: string, image: string) => `${namespace}\n${image}`;
  const fresh = (atMs: number, nowMs: number) => nowMs - atMs < ttlMs;

  return {
    remember(r) {
      const now = d.clock.now().getTime();
      const key = keyOf(r.namespace, r.image);
      recent.delete(key);
      recent.set(key, { r, atMs: now });
      for (const [k, v] of recent) {
        if (recent.size <= max && fresh(v.atMs, now)) break;
        recent.delete(k);
      }
    },
    recall(namespace, image) {
      const hit = recent.get(keyOf(namespace, image));
      return hit && fresh(hit.atMs, d.clock.now().getTime()) ? hit.r : undefined;
    },
    size: () => recent.size,
  };
}
