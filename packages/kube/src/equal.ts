/** Structural equality for JSON-shaped values (what projections are built from). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  return sameKeysAndValues(a as Record<string, unknown>, b as Record<string, unknown>, undefined);
}

/**
 * The reflector's default projection equality: deep equality ignoring a top-level `resourceVersion`.
 * Every write bumps resourceVersion, including status-only writes the projection drops; a projection
 * that keeps it would otherwise never compare equal and every status heartbeat would become work.
 */
export function equalIgnoringResourceVersion(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) return deepEqual(a, b);
  return sameKeysAndValues(a as Record<string, unknown>, b as Record<string, unknown>, 'resourceVersion');
}

function sameKeysAndValues(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  skip: string | undefined,
): boolean {
  // Keys whose value is undefined count as absent: projections build objects with optional fields.
  const keysA = Object.keys(a).filter((k) => k !== skip && a[k] !== undefined);
  const keysB = Object.keys(b).filter((k) => k !== skip && b[k] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}
