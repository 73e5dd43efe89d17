import type { OwnerFilter } from '@fleetscan/bus';
import { globToRegExp } from '@fleetscan/service';

/**
 * Ignore policies per namespace and workload, under trivy-operator's keys (its trivy ConfigMap,
 * pkg/plugins/trivy/config.go FindIgnorePolicyKey):
 *
 *   trivy.ignorePolicy                         every workload
 *   trivy.ignorePolicy.<namespace>             the workloads of matching namespaces
 *   trivy.ignorePolicy.<namespace>.<workload>  matching workloads (report owners, e.g. a ReplicaSet) there
 *
 * `<namespace>` and `<workload>` may hold `*` and `?`; in `<workload>` a `.` is a wildcard too, as
 * upstream turns every dot into `*` (its documented `trivy.ignorePolicy.application.my-app-.` means
 * `my-app-*`). The most specific key applies: workload over namespace over the global one.
 *
 * Where upstream is not a rule to copy, fleetscan decides: among several matching keys of one level
 * upstream takes whichever Go's map order gives (random), here the one with the most literal
 * characters, then the first by name; and upstream matches the whole key with its dots turned into
 * `*`, so `trivy.ignorePolicy.app` also matches a workload `webapp` in namespace `shop`, which here
 * it does not (the namespace part is only ever matched against the namespace).
 */

export const IGNORE_POLICY_KEY = 'trivy.ignorePolicy';

export interface IgnorePolicyKey {
  /** The key as written, e.g. `trivy.ignorePolicy.shop.api-*`. */
  key: string;
  policy: string;
  /** Absent for the global key. */
  namespace?: string;
  /** Only on workload keys; dots already turned into `*`. */
  workload?: string;
}

export interface IgnorePolicies {
  readonly keys: readonly IgnorePolicyKey[];
}

/**
 * The policies among `files` (name → contents, e.g. the keys of trivy-operator's ConfigMap mounted
 * as a directory); other names are not policies and are left alone. Throws on a key it cannot read.
 */
export function ignorePoliciesFrom(files: Readonly<Record<string, string>>): IgnorePolicies {
  const keys: IgnorePolicyKey[] = [];
  for (const [key, policy] of Object.entries(files)) {
    if (key === IGNORE_POLICY_KEY) {
      keys.push({ key, policy });
      continue;
    }
    if (!key.startsWith(`${IGNORE_POLICY_KEY}.`)) continue;
    const rest = key.slice(IGNORE_POLICY_KEY.length + 1);
    const dot = rest.indexOf('.');
    const namespace = dot < 0 ? rest : rest.slice(0, dot);
    const workload = dot < 0 ? undefined : rest.slice(dot + 1);
    if (!namespace || workload === '') throw new RangeError(`cannot read ignore policy key ${key}`);
    keys.push({
      key,
      policy,
      namespace,
      ...(workload !== undefined && { workload: workload.replaceAll('.', '*') }),
    });
  }
  return { keys: keys.sort(bySpecificity) };
}

/** Which key applies to an owner, and which of the namespace's owners requests made with it are for. */
export interface ResolvedIgnorePolicy {
  /** Absent: no policy applies. */
  key?: IgnorePolicyKey;
  /** Absent: every owner of the namespace resolves alike. */
  ownerFilter?: OwnerFilter;
}

/**
 * The policy of the owner `name` in `namespace`, and the owner filter of requests made with it:
 * they must reach exactly the owners of the namespace that resolve to the same key.
 */
export function resolveIgnorePolicy(
  p: IgnorePolicies,
  namespace: string,
  name: string,
): ResolvedIgnorePolicy {
  const here = p.keys.filter((k) => k.namespace !== undefined && matches(k.namespace, namespace));
  const workloads = here.filter((k) => k.workload !== undefined);
  const index = workloads.findIndex((k) => matches(k.workload as string, name));
  if (index >= 0) {
    const key = workloads[index] as IgnorePolicyKey;
    const before = workloads.slice(0, index).map((k) => k.workload as string);
    return {
      key,
      ownerFilter: { names: [key.workload as string], ...(before.length > 0 && { exceptNames: before }) },
    };
  }
  const key = here.find((k) => k.workload === undefined) ?? p.keys.find((k) => k.namespace === undefined);
  const all = workloads.map((k) => k.workload as string);
  return { ...(key && { key }), ...(all.length > 0 && { ownerFilter: { exceptNames: all } }) };
}

function matches(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value);
}

/** Most literal characters first (the most specific), then by key. */
function bySpecificity(a: IgnorePolicyKey, b: IgnorePolicyKey): number {
  const literal = (k: IgnorePolicyKey) =>
    `${k.namespace ?? ''}${k.workload ?? ''}`.replace(/[*?]/g, '').length;
  return literal(b) - literal(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
