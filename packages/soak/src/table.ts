import type { SoakSample, SoakVerdict } from './verdict.ts';

/** At most `max` of the samples, evenly spread, always the first and the last. */
export function thin<T>(samples: readonly T[], max: number): T[] {
  if (samples.length <= max) return [...samples];
  if (max < 2) return samples.slice(-1);
  const out: T[] = [];
  for (let i = 0; i < max; i++) {
    out.push(samples[Math.round((i * (samples.length - 1)) / (max - 1))] as T);
  }
  return out;
}

const clock = (sec: number) => {
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The sample table (RSS in MiB) and the verdict, for a terminal and for docs/BENCHMARKS.md. */
export function formatSoak(samples: readonly SoakSample[], verdict: SoakVerdict, maxRows = 25): string {
  const services = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))].sort();
  const header = [
    't',
    'live',
    'changes',
    ...services.map((s) => `${s} MiB`),
    'scan q',
    'result q',
    'dead',
    'load',
  ];
  const rows = thin(samples, maxRows).map((s) => [
    clock(s.t),
    String(s.live),
    String(s.changes),
    ...services.map((svc) => {
      const v = s.rss[svc];
      return v === undefined ? '-' : (v / 1024 / 1024).toFixed(1);
    }),
    String(s.pending.scan),
    String(s.pending.results),
    String(s.dead),
    s.load1.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)];
  out.push('', `verdict: ${verdict.ok ? 'PASS' : 'FAIL'}`);
  for (const c of verdict.criteria) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  return `${out.join('\n')}\n`;
}
