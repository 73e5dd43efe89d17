import type { ServiceProcess } from '@fleetscan/demo';
import type { StartedService } from './context.ts';
import type { Monitor } from './monitor.ts';
import {
  BENCH_KEY,
  type CpuSnapshot,
  cpuFigures,
  type PassProc,
  passFigures,
  type StackProc,
  stackKey,
} from './pass-figures.ts';
import { type ProcCpu, readCpu } from './proc.ts';
import { type Sample, scrape } from './prom.ts';
import type { PassFigures } from './result.ts';

/** CPU times now of the started services (last known for stopped ones), the stack and this process. */
export function cpuSnapshot(
  monitor: Monitor,
  started: readonly { name: string }[],
  stackPids: readonly StackProc[],
): CpuSnapshot {
  const snap = new Map<string, ProcCpu>();
  for (const s of started) {
    const c = monitor.cpu(s.name);
    if (c) snap.set(s.name, c);
  }
  for (const { pid } of stackPids) {
    const c = readCpu(pid);
    if (c) snap.set(stackKey(pid), c);
  }
  const self = readCpu(process.pid);
  if (self) snap.set(BENCH_KEY, self);
  return snap;
}

/** Reads a pass's counters, CPU and peak RSS at its end: `svcs` are its processes, plus scanners kept from before. */
export async function measurePass(o: {
  monitor: Monitor;
  started: readonly StartedService[];
  stackPids: readonly StackProc[];
  svcs: readonly ServiceProcess[];
  before: CpuSnapshot;
  reports: number;
  probeReports?: number;
  extraScanners?: readonly ServiceProcess[];
  scannersBefore?: readonly Sample[];
}): Promise<PassFigures> {
  const all = [...o.svcs, ...(o.extraScanners ?? [])];
  const samples = (await Promise.all(all.map((s) => scrape(s.metricsUrl)))).flat();
  const after = cpuSnapshot(o.monitor, o.started, o.stackPids);
  const names = new Map(o.started.map((s) => [s.svc, s.name]));
  const procs: PassProc[] = all.map((s) => ({ service: s.name, key: names.get(s) ?? '' }));
  return passFigures({
    reports: o.reports,
    ...(o.probeReports ? { probeReports: o.probeReports } : {}),
    samples,
    scannersBefore: o.scannersBefore ?? [],
    cpu: cpuFigures({ before: o.before, after, procs, stack: o.stackPids }),
    peakRss: procs.map((p) => ({ ...p, bytes: o.monitor.peakRss(p.key) })),
  });
}
