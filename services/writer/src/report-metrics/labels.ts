/**
 * Label names and values as trivy-operator's metrics spell them (pkg/metrics/util.go, types.go):
 * report labels become `<prefix><sanitised key>`, severities are title-cased.
 */

const INVALID_LABEL_CHAR = /[^a-zA-Z0-9_]/g;
const LOWER_THEN_UPPER = /([a-z0-9])([A-Z])/g;

/** util.go sanitizeLabelName: invalid characters to `_`, then camelCase to snake_case, lower-cased. */
export function sanitizeLabelName(key: string): string {
  return key.replace(INVALID_LABEL_CHAR, '_').replace(LOWER_THEN_UPPER, '$1_$2').toLowerCase();
}

const PROMETHEUS_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The metric label name of each report label key (collector.go getDynamicConfigLabels), and what is
 * wrong with them: a name Prometheus refuses, one that starts with the reserved `__`, two keys that
 * give one name, or a name a family already has (`reserved`). trivy-operator registers such a
 * collector anyway and every scrape fails; the writer refuses them at start.
 */
export function resourceLabelNames(
  prefix: string,
  keys: readonly string[],
  reserved: ReadonlySet<string>,
): { names: string[]; problems: string[] } {
  const names = keys.map((k) => prefix + sanitizeLabelName(k));
  const problems: string[] = [];
  const seen = new Map<string, string>();
  names.forEach((name, i) => {
    const key = keys[i] ?? '';
    if (!PROMETHEUS_LABEL_NAME.test(name)) problems.push(`${key} gives ${name}, not a Prometheus label name`);
    else if (name.startsWith('__'))
      problems.push(`${key} gives ${name}; names starting with __ are reserved`);
    else if (reserved.has(name))
      problems.push(`${key} gives ${name}, a label the trivy_* metrics already have`);
    const other = seen.get(name);
    if (other !== undefined) problems.push(`${other} and ${key} both give ${name}`);
    seen.set(name, key);
  });
  return { names, problems };
}

const KNOWN_SEVERITY: Readonly<Record<string, string>> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  MEDIUM: 'Medium',
  LOW: 'Low',
  UNKNOWN: 'Unknown',
};

/**
 * types.go NewSeverityLabel: the five severities as `Critical` … `Unknown`; anything else
 * title-cased word by word (Go's cases.Title), so an odd severity still gets a label.
 */
export function severityLabel(severity: string): string {
  return (
    KNOWN_SEVERITY[severity] ??
    severity.replace(/[\p{L}\p{N}]+/gu, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
  );
}

/** strconv.FormatFloat(f, 'f', -1, 64): the shortest decimal that reads back, never an exponent. */
export function formatGoFloat(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  // Exponent form only for |n| < 1e-6 or >= 1e21; spell it out.
  const [mantissa = '', exp = '0'] = s.toLowerCase().split('e');
  const e = Number(exp);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  const point =
    (mantissa.replace(/^-/, '').indexOf('.') + 1 || mantissa.replace(/^-/, '').length + 1) - 1 + e;
  const out =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}
