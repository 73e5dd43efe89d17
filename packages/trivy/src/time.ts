const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/**
 * A timestamp as Go's time.RFC3339 layout prints it (what trivy-operator writes): seconds
 * precision, zone kept. trivy's JSON has RFC 3339 with optional fractions.
 */
export function rfc3339(s: string): string {
  const m = RFC3339.exec(s);
  if (m) return `${m[1]}${m[3]?.toUpperCase()}`;
  const t = new Date(s);
  return Number.isNaN(t.getTime()) ? s : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
