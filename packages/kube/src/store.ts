import type { KubeObject } from './object.ts';

export type ReflectorEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorEvent<T> {
  type: ReflectorEventType;
  /** `namespace/name`, or `name` for cluster-scoped objects. */
  key: string;
  /** The projection (for DELETED: the last projection, or the final state's when it projects). */
  obj: T;
  /** The previous projection, for MODIFIED and DELETED. */
  old?: T;
  /** 'watch' for live events, 'list' for events synthesised from a (re-)list against the store. */
  source: 'list' | 'watch';
}

/**
 * What the store keeps per object: the projection plus uid and resourceVersion, so that a re-list
 * can skip unchanged objects without projecting them and can tell a re-created object from a
 * modified one. Never the object itself.
 */
interface Entry<T> {
  readonly uid: string;
  readonly rv: string;
  readonly value: T;
}

export interface ProjectionStore<T> {
  /** ADDED/MODIFIED from a watch, or an item of a list. */
  upsert(obj: KubeObject, source: 'list' | 'watch'): void;
  /** DELETED from a watch. */
  remove(obj: KubeObject): void;
  /** Starts a re-list pass: items upserted through the pass are marked seen; finish() deletes the rest. */
  beginList(): { upsert(obj: KubeObject): void; finish(): void };
  get(key: string): T | undefined;
  list(): T[];
  readonly size: number;
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function createProjectionStore<T>(opts: {
  project: (obj: KubeObject) => T | undefined;
  equal: (a: T, b: T) => boolean;
  emit: (e: ReflectorEvent<T>) => void;
  /** A projection that throws is a bug; the object is treated as not projectable. */
  onProjectError: (key: string, err: unknown) => void;
}): ProjectionStore<T> {
  const items = new Map<string, Entry<T>>();

  function project(key: string, obj: KubeObject): T | undefined {
    try {
      return opts.project(obj);
    } catch (err) {
      opts.onProjectError(key, err);
      return undefined;
    }
  }

  function upsert(obj: KubeObject, source: 'list' | 'watch'): string {
    const key = objectKey(obj);
    const uid = obj.metadata?.uid ?? '';
    const rv = obj.metadata?.resourceVersion ?? '';
    const prev = items.get(key);
    if (prev && rv && prev.rv === rv && prev.uid === uid) return key;
    const value = project(key, obj);
    if (value === undefined) {
      // Projected away now (e.g. a label that excludes it): to consumers it is gone.
      if (prev) {
        items.delete(key);
        opts.emit({ type: 'DELETED', key, obj: prev.value, old: prev.value, source });
      }
      return key;
    }
    items.set(key, { uid, rv, value });
    if (!prev) {
      opts.emit({ type: 'ADDED', key, obj: value, source });
    } else if (prev.uid !== uid) {
      // Deleted and re-created while we were not watching: two different objects.
      opts.emit({ type: 'DELETED', key, obj: prev.value, old: prev.value, source });
      opts.emit({ type: 'ADDED', key, obj: value, source });
    } else if (!opts.equal(prev.value, value)) {
      opts.emit({ type: 'MODIFIED', key, obj: value, old: prev.value, source });
    }
    return key;
  }

  return {
    upsert(obj, source) {
      upsert(obj, source);
    },
    remove(obj) {
      const key = objectKey(obj);
      const prev = items.get(key);
      if (!prev) return;
      items.delete(key);
      const last = project(key, obj) ?? prev.value;
      opts.emit({ type: 'DELETED', key, obj: last, old: prev.value, source: 'watch' });
    },
    beginList() {
      const seen = new Set<string>();
      return {
        upsert(obj) {
          seen.add(upsert(obj, 'list'));
        },
        finish() {
          for (const [key, entry] of items) {
            if (seen.has(key)) continue;
            items.delete(key);
            opts.emit({ type: 'DELETED', key, obj: entry.value, old: entry.value, source: 'list' });
          }
        },
      };
    },
    get: (key) => items.get(key)?.value,
    list: () => Array.from(items.values(), (e) => e.value),
    get size() {
      return items.size;
    },
  };
}
