import {
  INVENTORY_TOMBSTONE_TTL,
  type InventoryMessage,
  InventoryMessageSchema,
  subjects,
  UID_TOKEN_PATTERN,
} from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { backoff, type Clock, type Logger, type Timers } from '@fleetscan/service';

/** Publishes one message on the fleet stream; `ttl` makes it expire (a tombstone). */
export type FleetPublish = (subject: string, data: string, ttl?: string) => Promise<void>;

export interface InventoryFeedDeps {
  cluster: string;
  publish: FleetPublish;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  /** Publishes in flight at once. */
  concurrency?: number;
  onPublished?(type: InventoryMessage['type']): void;
  onFailure?(): void;
  random?: () => number;
}

export interface InventoryFeed {
  /** An owner appeared or changed (`owner`), or is gone (`undefined`; `previous` is what it was). */
  ownerChanged(owner: Owner | undefined, previous: Owner | undefined): void;
  /** The first list is complete: every owner is published with this watcher's epoch, then the synced mark. */
  synced(owners: readonly Owner[]): void;
  /** Owners waiting to be published (at most one entry per owner). */
  readonly pending: number;
  stop(): void;
}

type Entry = { kind: 'owner'; owner: Owner } | { kind: 'deleted'; uid: string };

/** The digest of a pod status imageID (`docker-pullable://reg/app@sha256:…`, `sha256:…`). */
export function digestOfImageID(imageID: string | undefined): string | undefined {
  if (!imageID) return undefined;
  const m = /(sha256|sha512):[a-f0-9]{64,128}$/.exec(imageID);
  return m ? m[0] : undefined;
}

/** Owners the fleet view shows: workloads with containers, whose uid can be a subject token. */
function shown(o: Owner | undefined): o is Owner {
  return !!o?.workload && o.containers.length > 0 && UID_TOKEN_PATTERN.test(o.uid);
}

/** The fleet stream's message for an owner (pure). */
export function ownerMessage(cluster: string, o: Owner, epoch: number, at: Date): InventoryMessage {
  return {
    v: 1,
    type: 'owner',
    cluster,
    uid: o.uid,
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    containers: o.containers.slice(0, 256).map((c) => {
      const digest = digestOfImageID(o.imageIDs?.[c.name] ?? o.workload?.imageIDs?.[c.name]);
      return { name: c.name, image: c.image, ...(digest && { digest }) };
    }),
    epoch,
    at: at.toISOString(),
  };
}

/**
 * The watcher's side of the fleet view (issue 15): each owner's containers and images on
 * `fleetscan.inventory.<uid>.<cluster>`, a deletion as a tombstone that expires, and, once every
 * owner of the first list is out, a synced mark carrying this watcher's epoch (its start), so the
 * fleet view drops owners a previous watcher published and nobody deleted (gone while no watcher
 * ran). Changes are coalesced per owner (memory bounded by the owners), published a few at a time,
 * and a failed publish is tried again with backoff and jitter; nothing is dropped while it runs.
 */
export function createInventoryFeed(d: InventoryFeedDeps): InventoryFeed {
  const epoch = d.clock.now().getTime();
  const concurrency = d.concurrency ?? 32;
  const pending = new Map<string, Entry>();
  let inFlight = 0;
  let started = false;
  let syncedSent = false;
  let ownersAtSync = 0;
  let failures = 0;
  let retryTimer: (() => void) | undefined;
  let stopped = false;

  function send(entry: Entry): Promise<void> {
    const at = d.clock.now();
    if (entry.kind === 'owner') {
      const msg = ownerMessage(d.cluster, entry.owner, epoch, at);
      return d.publish(subjects.inventoryOwner(entry.owner.uid, d.cluster), encode(msg));
    }
    const msg: InventoryMessage = {
      v: 1,
      type: 'deleted',
      cluster: d.cluster,
      uid: entry.uid,
      epoch,
      at: at.toISOString(),
    };
    return d.publish(subjects.inventoryOwner(entry.uid, d.cluster), encode(msg), INVENTORY_TOMBSTONE_TTL);
  }

  function pump(): void {
    if (stopped || !started || retryTimer) return;
    for (const [uid, entry] of pending) {
      if (inFlight >= concurrency) return;
      pending.delete(uid);
      inFlight++;
      send(entry).then(
        () => {
          inFlight--;
          failures = 0;
          d.onPublished?.(entry.kind);
          pump();
        },
        (err: unknown) => {
          inFlight--;
          d.onFailure?.();
          // A newer change of the owner wins over the one that failed.
          if (!pending.has(uid)) pending.set(uid, entry);
          if (failures++ === 0)
            d.logger.warn({ err: (err as Error).message }, 'cannot publish the inventory; retrying');
          if (!retryTimer && !stopped) {
            retryTimer = d.timers.after(backoff(failures, 500, 30_000, d.random), () => {
              retryTimer = undefined;
              pump();
            });
          }
        },
      );
    }
    if (pending.size === 0 && inFlight === 0 && !syncedSent) sendSynced();
  }

  function sendSynced(): void {
    syncedSent = true;
    const msg: InventoryMessage = {
      v: 1,
      type: 'synced',
      cluster: d.cluster,
      epoch,
      owners: ownersAtSync,
      at: d.clock.now().toISOString(),
    };
    d.publish(subjects.inventorySynced(d.cluster), encode(msg)).then(
      () => {
        d.onPublished?.('synced');
        d.logger.info({ owners: ownersAtSync, epoch }, 'inventory published to the fleet stream');
      },
      (err: unknown) => {
        syncedSent = false;
        d.onFailure?.();
        d.logger.warn({ err: (err as Error).message }, 'cannot publish the inventory synced mark; retrying');
        if (!retryTimer && !stopped) {
          retryTimer = d.timers.after(backoff(++failures, 500, 30_000, d.random), () => {
            retryTimer = undefined;
            pump();
          });
        }
      },
    );
  }

  return {
    ownerChanged(owner, previous) {
      // The same name with a new uid is a new object: the old one is gone.
      if (shown(previous) && previous.uid !== (shown(owner) ? owner.uid : undefined)) {
        pending.set(previous.uid, { kind: 'deleted', uid: previous.uid });
      }
      if (shown(owner)) pending.set(owner.uid, { kind: 'owner', owner });
      pump();
    },
    synced(owners) {
      for (const o of owners) if (shown(o)) pending.set(o.uid, { kind: 'owner', owner: o });
      ownersAtSync = owners.filter(shown).length;
      started = true;
      pump();
    },
    get pending() {
      return pending.size;
    },
    stop() {
      stopped = true;
      retryTimer?.();
      retryTimer = undefined;
    },
  };
}

function encode(m: InventoryMessage): string {
  return JSON.stringify(InventoryMessageSchema.parse(m));
}
