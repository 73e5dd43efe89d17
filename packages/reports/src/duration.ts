/**
 * Go time.Duration text, as used in the `trivy-operator.aquasecurity.github.io/report-ttl`
 * annotation (trivy-operator writes `reportTTL.String()`, e.g. `24h0m0s`).
 */

const NS_PER = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Digits of v / 10^prec without trailing zeros, '.'-prefixed; '' when the fraction is 0 (Go fmtFrac). */
function frac(v: bigint, prec: number): { text: string; rest: bigint } {
  let text = '';
  let print = false;
  let rest = v;
  for (let i = 0; i < prec; i++) {
    const digit = rest % 10n;
    print = print || digit !== 0n;
    if (print) text = digit.toString() + text;
    rest /= 10n;
  }
  return { text: print ? `.${text}` : '', rest };
}

/** Go's Duration.String() for a duration in nanoseconds. */
export function formatGoDurationNanos(nanos: bigint): string {
  const neg = nanos < 0n;
  let u = neg ? -nanos : nanos;
  let out: string;
  if (u < NS_PER.s) {
    if (u === 0n) return '0s';
    let unit: string;
    let prec: number;
    if (u < NS_PER.us) {
      unit = 'ns';
      prec = 0;
    } else if (u < NS_PER.ms) {
      unit = 'µs';
      prec = 3;
    } else {
      unit = 'ms';
      prec = 6;
    }
    const f = frac(u, prec);
    out = `${f.rest}${f.text}${unit}`;
  } else {
    const f = frac(u, 9);
    u = f.rest; // whole seconds
    out = `${u % 60n}${f.text}s`;
    u /= 60n; // minutes
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n; // hours
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's Duration.String() for a duration in seconds (fractions kept to the nanosecond). */
export function formatGoDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) throw new RangeError(`duration must be finite: ${seconds}`);
  return formatGoDurationNanos(BigInt(Math.round(seconds * 1e9)));
}

/**
 * Go's time.ParseDuration, returning seconds: `[-+]?(<decimal><unit>)+` with units
 * ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h, or plain `0`. Throws on anything else.
 */
export function parseGoDuration(text: string): number {
  const m = /^([-+]?)(.*)$/s.exec(text);
  const sign = m?.[1] === '-' ? -1 : 1;
  const body = m?.[2] ?? '';
  if (body === '0') return 0;
  if (body === '') throw new SyntaxError(`invalid duration ${JSON.stringify(text)}`);
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let pos = 0;
  let seconds = 0;
  while (pos < body.length) {
    part.lastIndex = pos;
    const p = part.exec(body);
    if (!p) throw new SyntaxError(`invalid duration ${JSON.stringify(text)}`);
    const unit = p[2] === 'µs' || p[2] === 'μs' ? 'us' : (p[2] as keyof typeof NS_PER);
    seconds += (Number(p[1]) * Number(NS_PER[unit])) / 1e9;
    pos = part.lastIndex;
  }
  return sign * seconds;
}
