import { latencyRatios } from './probe-plan.ts';
import type { BenchResult } from './result.ts';
import { scaleGoal, speedups } from './scale-out-figures.ts';

/** A goal the run measured: what it asks, what the run got, and whether that meets it. */
export interface Goal {
  goal: string;
  got: string;
  met: boolean;
}

const x = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}×`);

/**
 * Every goal (issues 5 and 13) the run has figures for, in the order of the report. A goal the run
 * did not measure is left out, not counted as met.
 */
export function goals(r: BenchResult): Goal[] {
  const out: Goal[] = [];
  const add = (goal: string, got: string, met: boolean) => out.push({ goal, got, met });
  const p = r.firstPass;
  const what = p?.existing ? 'cold start' : 'first pass';
  if (p && r.complete) {
    add(
      `${what}: every report written`,
      `${p.reports} of ${r.fleet.expectedReports}`,
      p.reports >= r.fleet.expectedReports,
    );
    // --config-only scans no image on purpose.
    if (!r.options?.configOnly) {
      add(
        `${what}: trivy image runs ÷ unique digests = 1.00`,
        x(p.amplification),
        Math.abs(p.amplification - 1) < 0.005,
      );
    }
    add(`${what}: API writes ÷ report = 1.00`, x(p.writesPerReport), Math.abs(p.writesPerReport - 1) < 0.005);
    if (Number.isFinite(p.ratioToFloor))
      add(`${what}: time ≤ 1.25 × floor`, x(p.ratioToFloor), p.ratioToFloor <= 1.25);
    if (r.options?.configOnly) {
      // Issue 13, goal 1: config audits, everything fleetscan runs included.
      const cpu = fleetscanCpuMs(p);
      add('config audits: fleetscan CPU per owner ≤ 20 ms', `${cpu.toFixed(0)} ms`, cpu <= 20);
      if (p.existing && r.options.owners === 1000) {
        add(
          'config audits: all ConfigAuditReports of 1 000 existing owners ≤ 20 s',
          `${(p.timeToAllReportsMs / 1000).toFixed(1)} s`,
          p.timeToAllReportsMs <= 20_000,
        );
      }
    }
    if (r.fleet.workloads >= 10_000) {
      add(
        `${what}: watcher peak RSS ≤ 200 MB at 10 000 owners`,
        `${mb(p.peakRss.watcher)} MB`,
        p.peakRss.watcher <= 200 * 2 ** 20,
      );
    }
  }
  const b = r.baseline;
  if (b?.ratioToFleetscan !== undefined)
    add('≥ 10× faster than the baseline', x(b.ratioToFleetscan), b.ratioToFleetscan >= 10);
  const q = r.secondPass;
  if (q) {
    const runs = q.trivyImageRuns + q.trivyConfigRuns;
    add(
      'second pass: 0 trivy runs, 0 API writes',
      `${runs} runs, ${q.writes} writes`,
      runs === 0 && q.writes === 0,
    );
  }
  const idle = r.probes?.idle;
  for (const [phase, f] of [
    ['cold start', r.probes?.coldStart],
    ['DB update', r.probes?.dbUpdate],
  ] as const) {
    if (!f || !idle) continue;
    const ratio = latencyRatios(f, idle);
    add(
      `new workload during the ${phase} ≤ 2× the idle fleet's (p50 and p99)`,
      `p50 ${x(ratio.p50)}, p99 ${x(ratio.p99)}; ${f.reported} of ${f.created} reported`,
      ratio.met,
    );
  }
  const d = r.dbUpdate;
  if (d) {
    add('DB update: every VulnerabilityReport refreshed', `${d.refreshed} of ${d.reports}`, d.complete);
    const per = d.work.writes / Math.max(1, d.refreshed + (d.probeReports ?? 0));
    add('DB update: API writes ÷ report = 1.00', x(per), Math.abs(per - 1) < 0.005);
  }
  const so = r.scaleOut;
  if (so) {
    const up = speedups(so.runs);
    for (const [i, run] of so.runs.entries()) {
      const goal = scaleGoal(run);
      const sp = up[i];
      if (goal === undefined || sp === undefined) continue;
      add(`scale-out: S=${run.scanners} ≥ ${goal}× S=1 (pull-bound)`, x(sp), sp >= goal);
    }
  }
  return out;
}

/** CPU of fleetscan's processes (watcher, writer, scanners and what they run) per report. */
export function fleetscanCpuMs(p: NonNullable<BenchResult['firstPass']>): number {
  const c = p.cpu;
  return ((c.watcherSec + c.writerSec + c.scannerSec + c.trivySec) * 1000) / Math.max(p.reports, 1);
}

const mb = (b: number) => (b / 2 ** 20).toFixed(0);
