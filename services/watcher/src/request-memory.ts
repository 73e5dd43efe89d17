import type { Lane } from '@fleetscan/bus';

/**
 * What the watcher remembers about the requests it sent, and the message id each ask gets.
 *
 * One entry per request key (an image in a namespace with its settings and refresh purpose, or an
 * owner's config audit). It answers two questions: is this request still pending (then do not ask
 * again), and which message id does an ask carry. The first ask of a key is `#0`, so a restarted
 * watcher asking for the same config audit again is dropped by JetStream's duplicate window (an image
 * ask dropped so is asked again by requests.ts: its answer may have come before the owner); an ask on
 * purpose (no answer in time, a deleted report, an owner that missed the fan-out) takes the next
 * generation, or JetStream would drop it as a repeat.
 *
 * Entries leave once they can no longer change a decision nor an id inside the duplicate window:
 * - answered (a report appeared) or asked again on purpose: when the last publish is older than the
 *   duplicate window — the next ask publishes at once either way;
 * - gone (the owner, or every owner of the image in the namespace, went away): the same;
 * - pending: when the last publish is older than both the time it stays pending and the duplicate
 *   window — the next ask would publish again anyway.
 * A key asked again after it left starts over at `#0`, which JetStream accepts: no id of that key was
 * published within the window.
 *
 * A key pending in the bulk lane and asked for urgently is asked again at once, in the urgent lane,
 * with the next id: a new workload does not wait for the bulk queue its image is already in. A hard cap drops the oldest entries as a last line, counted; the
 * cost of such an eviction is at most one repeated request.
 *
 * Pure: time comes in as arguments, so the rules are unit-tested without a clock.
 */
export interface RequestMemory {
  /**
   * An ask for `key`: `pending` while an unanswered ask is younger than `freshMs` (and, for an urgent
   * ask, was urgent too), else the message id to publish with (the ask is recorded at `nowMs`).
   * `group` is what the key is for — an image in a namespace, an owner — so `gone(group)` reaches
   * every key of it.
   */
  ask(
    key: string,
    group: string,
    freshMs: number,
    nowMs: number,
    lane?: Lane,
  ): { pending: true } | { msgID: string };
  /** The key's request was answered, or must be asked again: the next ask publishes at once, with a new id. */
  retry(key: string): void;
  /**
   * JetStream dropped the key's last ask as a duplicate (an id a watcher before a restart used):
   * nothing says it is still being answered, so it is pending for the duplicate window at most.
   */
  duplicate(key: string): void;
  /**
   * Publishing the key's last ask failed: the next ask publishes at once, with the same id — JetStream
   * drops it if the failed publish got through after all.
   */
  failed(key: string): void;
  /** Nothing needs the group's keys any more; they leave once out of the duplicate window. */
  gone(group: string): void;
  /** Drops what no longer matters (see above); returns how many entries left. */
  sweep(nowMs: number): number;
  /** Entries held, and of those the ones asked and not answered (some may be past their pending time). */
  readonly size: number;
  readonly pending: number;
}

/** How much longer than its pending time an ask waits while its lane is still queued (a bound). */
export const QUEUED_EXTENSION = 4;

export type EvictionReason = 'answered' | 'gone' | 'idle' | 'cap';

interface Entry {
  group: string;
  /** The generation of the last ask (its id was `${key}#${gen}`); the next ask takes the one after. */
  gen: number;
  /** When it was last published. */
  at: number;
  /** How long an unanswered ask stays pending. */
  freshMs: number;
  /** Asked and not answered (a retry or an answer closes it). */
  open: boolean;
  gone: boolean;
  /** The lane of the last ask. */
  lane: Lane;
  /** The last ask was dropped as a duplicate. */
  dropped?: boolean;
}

export function createRequestMemory(opts: {
  /** JetStream's duplicate window (`duplicate_window` of the scan stream). */
  duplicateWindowMs: number;
  /** The last line: beyond this many entries the oldest asks are forgotten. */
  maxEntries: number;
  onEvict?: (reason: EvictionReason, count: number) => void;
  /**
   * Whether requests of this cluster in a lane are still queued in the scan stream (a work queue:
   * a message leaves it once answered). While they are, an unanswered ask past its pending time is
   * most likely queued behind them, not lost: it stays pending, up to QUEUED_EXTENSION × that time.
   * Without it, a cold start whose backlog outlasted REQUEST_RETRY_SECONDS asked again for what
   * was still queued (10 000 owners: 1.30 writes per report).
   */
  queued?: (lane: Lane) => boolean;
}): RequestMemory {
  // Insertion order is publish order: an ask moves its key to the end, so the cap drops the oldest.
  const entries = new Map<string, Entry>();
  const groups = new Map<string, Set<string>>();
  let open = 0;

  const remove = (key: string, e: Entry) => {
    entries.delete(key);
    if (e.open) open--;
    const keys = groups.get(e.group);
    keys?.delete(key);
    if (keys?.size === 0) groups.delete(e.group);
  };
  const close = (e: Entry) => {
    if (e.open) open--;
    e.open = false;
  };
  /** An open ask younger than `freshMs`, or than QUEUED_EXTENSION × it while its lane is still queued. */
  const stillPending = (e: Entry, freshMs: number, nowMs: number) => {
    const age = nowMs - e.at;
    if (age < freshMs) return true;
    return !e.dropped && age < QUEUED_EXTENSION * freshMs && (opts.queued?.(e.lane) ?? false);
  };
  const reasonToLeave = (e: Entry, nowMs: number): EvictionReason | undefined => {
    const idle = nowMs - e.at;
    if (idle < opts.duplicateWindowMs) return undefined;
    if (e.gone) return 'gone';
    if (!e.open) return 'answered';
    return stillPending(e, e.freshMs, nowMs) ? undefined : 'idle';
  };

  return {
    ask(key, group, freshMs, nowMs, lane = 'urgent') {
      const e = entries.get(key);
      const overtakes = lane === 'urgent' && e?.lane === 'bulk';
      const fresh = e?.dropped ? Math.min(freshMs, opts.duplicateWindowMs) : freshMs;
      if (e?.open && stillPending(e, fresh, nowMs) && !overtakes) {
        e.gone = false;
        return { pending: true };
      }
      const gen = e ? e.gen + 1 : 0;
      if (e) remove(key, e);
      entries.set(key, { group, gen, at: nowMs, freshMs, open: true, gone: false, lane });
      open++;
      const keys = groups.get(group) ?? new Set();
      keys.add(key);
      groups.set(group, keys);
      let capped = 0;
      for (const [k, old] of entries) {
        if (entries.size <= opts.maxEntries) break;
        remove(k, old);
        capped++;
      }
      if (capped > 0) opts.onEvict?.('cap', capped);
      return { msgID: `${key}#${gen}` };
    },
    retry(key) {
      const e = entries.get(key);
      if (e) close(e);
    },
    duplicate(key) {
      const e = entries.get(key);
      if (e) e.dropped = true;
    },
    failed(key) {
      const e = entries.get(key);
      if (!e?.open) return;
      close(e);
      e.gen--;
    },
    gone(group) {
      for (const key of groups.get(group) ?? []) {
        const e = entries.get(key);
        if (e) e.gone = true;
      }
    },
    sweep(nowMs) {
      const left: Partial<Record<EvictionReason, number>> = {};
      let total = 0;
      for (const [key, e] of entries) {
        const reason = reasonToLeave(e, nowMs);
        if (!reason) continue;
        remove(key, e);
        left[reason] = (left[reason] ?? 0) + 1;
        total++;
      }
      for (const [reason, n] of Object.entries(left)) opts.onEvict?.(reason as EvictionReason, n);
      return total;
    },
    get size() {
      return entries.size;
    },
    get pending() {
      return open;
    },
  };
}
