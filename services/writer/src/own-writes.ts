import type { FailureEntry } from '@fleetscan/bus';

/** How long what the writer wrote itself stands in for the view: many polls (2 s) of the bucket. */
export const OWN_WRITE_MS = 30_000;

/**
 * What this writer wrote to its failures bucket and the view (read with direct gets every 2 s,
 * readFailures) may not show yet: a record it wrote, or a key it deleted. Without it an ok result
 * coming right after the failure it recorded would find no record in the view and leave it, holding
 * the image until its retryAt. The view wins once it holds the written revision or a newer one; an
 * entry is forgotten after OWN_WRITE_MS, the view's answer then being current.
 */
export function createOwnWrites(now: () => number = Date.now) {
  const written = new Map<string, { entry: FailureEntry | undefined; revision: number; at: number }>();
  const sweep = () => {
    for (const [k, w] of written) if (now() - w.at >= OWN_WRITE_MS) written.delete(k);
  };
  return {
    wrote(key: string, entry: FailureEntry) {
      sweep();
      written.set(key, { entry, revision: entry.revision, at: now() });
    },
    /** A deletion, after what the view or this writer held at `revision`. */
    deleted(key: string, revision: number) {
      sweep();
      written.set(key, { entry: undefined, revision, at: now() });
    },
    /** The view's entry, unless this writer's own newer write (or deletion) is not in it yet. */
    get(key: string, fromView: FailureEntry | undefined): FailureEntry | undefined {
      const w = written.get(key);
      if (!w) return fromView;
      const viewCaughtUp = fromView
        ? w.entry
          ? fromView.revision >= w.revision
          : fromView.revision > w.revision
        : w.entry === undefined;
      if (viewCaughtUp || now() - w.at >= OWN_WRITE_MS) {
        written.delete(key);
        return fromView;
      }
      return w.entry;
    },
    get size() {
      return written.size;
    },
  };
}
