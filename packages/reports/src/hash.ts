/**
 * trivy-operator's `kube.ComputeHash` (pkg/kube/resources.go), reproduced:
 *
 *     hasher := fnv.New32a()
 *     spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}.Fprintf(hasher, "%#v", obj)
 *     return rand.SafeEncodeString(fmt.Sprint(hasher.Sum32()))
 *
 * i.e. FNV-1a 32 over go-spew's `%#v` rendering of a Go value, the decimal digits of the sum then mapped
 * through k8s.io/apimachinery/pkg/util/rand.SafeEncodeString (alphabet "bcdfghjklmnpqrstvwxz2456789").
 *
 * `%#v` output depends on Go types, so it is reproduced exactly only for values modelled by `GoValue`
 * (strings, bools, ints, slices, maps, pointers, structs with their Go type names). That covers every
 * hash that ends up in a report *name* or the `name-hash` label (ComputeHash of a string) and the
 * plugin-config-hash input ([]string). It cannot cover `resource-spec-hash`, see `computeSpecHash`.
 */

/** Alphabet of k8s.io/apimachinery/pkg/util/rand (vowels omitted to avoid words). */
export const SAFE_ENCODE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const utf8 = new TextEncoder();

/** FNV-1a, 32 bit (Go hash/fnv New32a), over the UTF-8 bytes of a string or raw bytes. */
export function fnv32a(input: string | Uint8Array): number {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  // An indexed loop: for…of over the bytes took 3× as long, and every owner's spec is hashed at list.
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

/** rand.SafeEncodeString: each rune r becomes alphabet[r % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ENCODE_ALPHABET[(ch.codePointAt(0) ?? 0) % SAFE_ENCODE_ALPHABET.length];
  return out;
}

/** A Go value, with the Go type names go-spew prints (reflect.Type.String(), e.g. `kube.Kind`, `[]string`). */
export type GoValue =
  | { readonly kind: 'string'; readonly type: string; readonly value: string }
  | { readonly kind: 'bool'; readonly type: string; readonly value: boolean }
  | { readonly kind: 'int'; readonly type: string; readonly value: number | bigint }
  /** `items: null` is a nil slice. */
  | { readonly kind: 'slice'; readonly type: string; readonly items: readonly GoValue[] | null }
  /** Keys must be string, bool or int values (go-spew sorts those natively). */
  | {
      readonly kind: 'map';
      readonly type: string;
      readonly entries: readonly (readonly [GoValue, GoValue])[];
    }
  /** `type` is the pointer type (`*bool`); `elem: null` is a nil pointer. */
  | { readonly kind: 'ptr'; readonly type: string; readonly elem: GoValue | null }
  /** Fields in Go declaration order. */
  | {
      readonly kind: 'struct';
      readonly type: string;
      readonly fields: readonly (readonly [string, GoValue])[];
    };

export const goString = (value: string, type = 'string'): GoValue => ({ kind: 'string', type, value });

/** A Go `[]string`; pass `null` for a nil slice. */
export const goStringSlice = (items: readonly string[] | null): GoValue => ({
  kind: 'slice',
  type: '[]string',
  items: items === null ? null : items.map((s) => goString(s)),
});

/** A Go `map[string]string`. */
export const goStringMap = (record: Readonly<Record<string, string>>): GoValue => ({
  kind: 'map',
  type: 'map[string]string',
  entries: Object.entries(record).map(([k, v]) => [goString(k), goString(v)] as const),
});

/** trivy-operator's kube.ObjectRef{Kind, Name, Namespace} (pkg/kube/object.go). */
export const goObjectRef = (ref: { kind: string; name: string; namespace: string }): GoValue => ({
  kind: 'struct',
  type: 'kube.ObjectRef',
  fields: [
    ['Kind', goString(ref.kind, 'kube.Kind')],
    ['Name', goString(ref.name)],
    ['Namespace', goString(ref.namespace)],
  ],
});

/** Byte-wise comparison of UTF-8 encodings, i.e. Go's `a < b` on strings. */
export function compareGoStrings(a: string, b: string): number {
  // Without encoding, which every spec hash's key sorts paid for each comparison: UTF-8's byte order
  // is code point order, and UTF-16 units below the surrogates (D800) are those code points.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return compareUtf8(a, b);
  }
  return a.length - b.length;
}

function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function compareKeys(a: GoValue, b: GoValue): number {
  if (a.kind === 'string' && b.kind === 'string') return compareGoStrings(a.value, b.value);
  if (a.kind === 'int' && b.kind === 'int') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (a.kind === 'bool' && b.kind === 'bool') return Number(a.value) - Number(b.value);
  throw new TypeError(`unsupported map key kinds ${a.kind}/${b.kind}`);
}

/**
 * go-spew `%#v` with trivy-operator's ConfigState (DisableMethods, SortKeys), as in
 * davecgh/go-spew spew/format.go: the type in parentheses precedes every value except slice/map
 * elements and map keys; struct fields print as `Name:value`; nil slices and pointers print `<nil>`.
 */
export function spewSharpV(v: GoValue, ignoreType = false): string {
  const typePrefix = ignoreType ? '' : `(${v.type})`;
  switch (v.kind) {
    case 'ptr':
      if (v.elem === null) return `${typePrefix}<nil>`;
      return (ignoreType ? '<*>' : typePrefix) + spewSharpV(v.elem, true);
    case 'string':
      return typePrefix + v.value;
    case 'bool':
      return typePrefix + (v.value ? 'true' : 'false');
    case 'int':
      return typePrefix + v.value.toString();
    case 'slice':
      if (v.items === null) return `${typePrefix}<nil>`;
      return `${typePrefix}[${v.items.map((i) => spewSharpV(i, true)).join(' ')}]`;
    case 'map': {
      const entries = [...v.entries].sort((a, b) => compareKeys(a[0], b[0]));
      return `${typePrefix}map[${entries.map(([k, val]) => `${spewSharpV(k, true)}:${spewSharpV(val, true)}`).join(' ')}]`;
    }
    case 'struct':
      return `${typePrefix}{${v.fields.map(([name, f]) => `${name}:${spewSharpV(f)}`).join(' ')}}`;
  }
}

/** kube.ComputeHash. A plain string argument is hashed as a Go `string`. */
export function computeHash(value: GoValue | string): string {
  const v = typeof value === 'string' ? goString(value) : value;
  return safeEncodeString(String(fnv32a(spewSharpV(v))));
}

/**
 * Value of the `plugin-config-hash` label for config audit reports.
 *
 * trivy-operator (pkg/policy/policy.go, Policies.Hash) hashes the policies applicable to a kind:
 * the rego module contents as a `[]string`, sorted (`slices.Sort`), with kube.ComputeHash. Older
 * releases hashed the `map[string]string` of module name to content instead (`goStringMap`).
 * Equal only when fed the same policy texts, which fleetscan generally does not have.
 */
export function computePluginConfigHash(policyContents: readonly string[]): string {
  return computeHash(goStringSlice([...policyContents].sort(compareGoStrings)));
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
    if (typeof value === 'bigint') return value.toString();
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort(compareGoStrings);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

/**
 * Value of the `resource-spec-hash` label: a hash of the workload's pod spec (or of the whole object
 * for non-workloads), used to decide whether a report is stale.
 *
 * DEVIATION: trivy-operator computes kube.ComputeHash(corev1.PodSpec), i.e. FNV-1a over go-spew's
 * rendering of the Go struct, which includes every field (set or not) of the k8s.io/api version it
 * was compiled with. That cannot be reproduced from JSON. We keep the same algorithm shape and format
 * (FNV-1a 32 -> decimal -> SafeEncodeString, at most 10 chars of the same alphabet) but hash the
 * canonical JSON of the spec (keys sorted, undefined dropped). Values therefore differ from
 * trivy-operator's; they are stable for a given spec, so fleetscan's own staleness checks work.
 */
export function computeSpecHash(spec: unknown): string {
  return safeEncodeString(String(fnv32a(canonicalJson(spec))));
}
