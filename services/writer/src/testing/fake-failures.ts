import { type FailureEntry, failureKey, type ScanFailureRecord } from '@fleetscan/bus';
import type { FailureStore, StoredFailure } from '../failure-store.ts';
import type { EventApi, KubeEvent } from '../scan-events.ts';

/**
 * The failures bucket in memory, with KV's compare-and-set: a write at a revision other than the
 * key's current one throws. `lagging` makes the view (get/entries) keep what it held, as a watch
 * a moment behind the bucket does.
 */
export function memoryFailureStore() {
  const keys = new Map<string, FailureEntry>();
  let view: Map<string, FailureEntry> | undefined;
  let revision = 0;
  const store: Pick<FailureStore, 'get' | 'entries' | 'read' | 'write' | 'delete'> & {
    writes: number;
    conflicts: number;
    lagging(on: boolean): void;
    records(): ScanFailureRecord[];
  } = {
    writes: 0,
    conflicts: 0,
    get: (namespace, image) => (view ?? keys).get(failureKey(namespace, image)),
    entries: () => (view ?? keys).values(),
    async read(namespace, image): Promise<StoredFailure | undefined> {
      return keys.get(failureKey(namespace, image));
    },
    async write(record, at) {
      const key = failureKey(record.namespace, record.image);
      if (keys.get(key)?.revision !== at) {
        store.conflicts++;
        throw new Error('wrong last sequence');
      }
      store.writes++;
      keys.set(key, { record, revision: ++revision });
    },
    async delete(namespace, image) {
      keys.delete(failureKey(namespace, image));
    },
    lagging(on) {
      view = on ? new Map(keys) : undefined;
    },
    records: () => [...keys.values()].map((e) => e.record),
  };
  return store;
}

/** An EventApi keeping Events by namespace/name, as the API server would (an upsert replaces). */
export function recordingEvents() {
  const events = new Map<string, KubeEvent>();
  let upserts = 0;
  const api: EventApi & { events: Map<string, KubeEvent>; upserts(): number; fail?: Error | undefined } = {
    events,
    upserts: () => upserts,
    async upsert(e) {
      if (api.fail) throw api.fail;
      upserts++;
      events.set(`${e.metadata.namespace}/${e.metadata.name}`, e);
    },
  };
  return api;
}
