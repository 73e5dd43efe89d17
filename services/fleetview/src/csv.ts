/**
 * RFC 4180 CSV of rows with the same keys: fields quoted when they hold a comma, quote or line
 * break, and a field a spreadsheet would run as a formula (=, +, -, @, tab, CR first) prefixed
 * with a quote (OWASP's CSV injection advice): package names and titles come from images.
 */
export function toCsv(keys: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const field = (v: unknown): string => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[keys.join(','), ...rows.map((r) => keys.map((k) => field(r[k])).join(','))].join('\r\n')}\r\n`;
}
