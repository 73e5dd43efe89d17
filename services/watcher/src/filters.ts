import type { ContainerRef, Owner } from '@fleetscan/inventory';
import { globToRegExp } from '@fleetscan/service';

/** What to scan, from configuration (documented in the README). */
export interface ScopeConfig {
  /** Namespace globs to include; empty means all. */
  namespacesInclude: readonly string[];
  namespacesExclude: readonly string[];
  /** Owner kinds to report on. */
  kinds: readonly string[];
  /** `key` or `key=value`: owners carrying any of these labels are skipped. */
  skipLabels: readonly string[];
  /** Image globs never scanned (matched against the image as written in the pod spec). */
  excludeImages: readonly string[];
  initContainers: boolean;
  ephemeralContainers: boolean;
}

export function createScope(cfg: ScopeConfig) {
  const inc = cfg.namespacesInclude.map(globToRegExp);
  const exc = cfg.namespacesExclude.map(globToRegExp);
  const images = cfg.excludeImages.map(globToRegExp);
  const kinds = new Set(cfg.kinds);
  const labels = cfg.skipLabels.map((l) => {
    const i = l.indexOf('=');
    return i < 0 ? { key: l, value: undefined } : { key: l.slice(0, i), value: l.slice(i + 1) };
  });
  const namespaceInScope = (ns: string) =>
    (inc.length === 0 || inc.some((r) => r.test(ns))) && !exc.some((r) => r.test(ns));
  return {
    namespaceInScope,
    /** Whether the owner is reported on at all. */
    ownerInScope(o: { kind: string; namespace: string; labels: Readonly<Record<string, string>> }): boolean {
      if (!kinds.has(o.kind) || !namespaceInScope(o.namespace)) return false;
      return !labels.some(
        ({ key, value }) => key in o.labels && (value === undefined || o.labels[key] === value),
      );
    },
    /** The containers whose images are scanned. */
    containers(o: Pick<Owner, 'containers'>): ContainerRef[] {
      return o.containers.filter(
        (c) =>
          c.image !== '' &&
          (c.kind !== 'initContainer' || cfg.initContainers) &&
          (c.kind !== 'ephemeralContainer' || cfg.ephemeralContainers) &&
          !images.some((r) => r.test(c.image)),
      );
    },
  };
}
export type Scope = ReturnType<typeof createScope>;
