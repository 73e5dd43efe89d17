/**
 * One shared copy of equal values for as long as anything holds one. Reports of the same image in
 * many namespaces carry the same findings: kept per report, a 10 000-owner cluster would hold the
 * same few hundred findings thousands of times. The table holds its values weakly, so a value no
 * report refers to any more is collected and its key forgotten; nothing here needs to be told when
 * a report goes away.
 */
export interface Interner<T extends object> {
  /** The value already held for `key`, else `make()` (then held for `key`). */
  intern(key: string, make: () => T): T;
  /** A small number, the same for the same held value, so a list of values can be keyed cheaply. */
  idOf(value: T): number;
  /** Keys currently held (values collected but not yet finalised may still count). */
  readonly size: number;
}

export function createInterner<T extends object>(): Interner<T> {
  const byKey = new Map<string, WeakRef<T>>();
  const ids = new WeakMap<T, number>();
  let next = 0;
  const forget = new FinalizationRegistry<string>((key) => {
    // The key may hold a newer value made after this one was collected.
    if (byKey.get(key)?.deref() === undefined) byKey.delete(key);
  });
  return {
    intern(key, make) {
      const held = byKey.get(key)?.deref();
      if (held) return held;
      const value = make();
      byKey.set(key, new WeakRef(value));
      ids.set(value, next++);
      forget.register(value, key);
      return value;
    },
    idOf(value) {
      let id = ids.get(value);
      if (id === undefined) {
        id = next++;
        ids.set(value, id);
      }
      return id;
    },
    get size() {
      return byKey.size;
    },
  };
}
