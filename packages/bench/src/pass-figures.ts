import { FLEET_REPORT_KINDS } from './load-figures.ts';
import { childCpu, ownCpu, type ProcCpu } from './proc.ts';
import { type Sample, sumOf } from './prom.ts';
import type { CpuFigures, PassFigures } from './result.ts';

/** CPU times of the run's processes at one moment, by the name the benchmark tracks each under. */
export type CpuSnapshot = ReadonlyMap<string, ProcCpu>;
/** A process of the local stack (apiserver, etcd, NATS, …); its snapshot key is `stack:<pid>`. */
export interface StackProc {
  name: string;
  pid: number;
}
/** A fleetscan service process of a pass: its service name (`watcher`, `scanner-0`) and tracked name. */
export interface PassProc {
  service: string;
  key: string;
}

export const stackKey = (pid: number) => `stack:${pid}`;
/** This process's key in a snapshot. */
export const BENCH_KEY = 'bench';
const isScanner = (p: PassProc) => p.service.startsWith('scanner');
const isWatcher = (p: PassProc) => p.service === 'watcher';
const isWriter = (p: PassProc) => p.service === 'writer';

/** CPU seconds per stack process name (the two registries add up under one name). */
export function byProcess(procs: readonly StackProc[], cpu: (pid: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of procs) out[p.name] = (out[p.name] ?? 0) + cpu(p.pid);
  return out;
}

/**
 * CPU of a pass from snapshots at its start and end. A process started during the pass has no
 * start snapshot and counts from zero; one gone before the end counts nothing.
 */
export function cpuFigures(o: {
  before: CpuSnapshot;
  after: CpuSnapshot;
  procs: readonly PassProc[];
  stack: readonly StackProc[];
}): CpuFigures {
  const delta = (key: string, f: (c: ProcCpu) => number) => {
    const a = o.after.get(key);
    if (!a) return 0;
    const b = o.before.get(key);
    return f(a) - (b ? f(b) : 0);
  };
  const sumFor = (pred: (p: PassProc) => boolean, f: (c: ProcCpu) => number) =>
    o.procs.filter(pred).reduce((acc, p) => acc + delta(p.key, f), 0);
  return {
    watcherSec: sumFor(isWatcher, ownCpu),
    writerSec: sumFor(isWriter, ownCpu),
    scannerSec: sumFor(isScanner, ownCpu),
    trivySec: sumFor(isScanner, childCpu),
    stackSec: o.stack.reduce((a, { pid }) => a + delta(stackKey(pid), ownCpu), 0),
    stackByProcess: byProcess(o.stack, (pid) => delta(stackKey(pid), ownCpu)),
    benchSec: delta(BENCH_KEY, ownCpu),
  };
}

/**
 * Counters of one pass from the services' /metrics at its end. Scanners may outlive a pass (the
 * second pass keeps the first one's): their counters before it are subtracted.
 */
export function passFigures(o: {
  /** Reports the benchmark's watch saw (0 for a pass that should write none). */
  reports: number;
  /** Reports of probes (workloads created apart from the fleet) written in the pass: writes too. */
  probeReports?: number;
  samples: readonly Sample[];
  scannersBefore: readonly Sample[];
  cpu: CpuFigures;
  /** Peak RSS of each process of the pass, bytes. */
  peakRss: readonly (PassProc & { bytes: number })[];
}): PassFigures {
  const runs = (type: string) =>
    sumOf(o.samples, 'fleetscan_scanner_trivy_runs_total', { type }) -
    sumOf(o.scannersBefore, 'fleetscan_scanner_trivy_runs_total', { type });
  const outcomes: Record<string, number> = {};
  // The cluster's own objects (bootstrap ClusterRoles, kube-system Roles, the kubernetes Service)
  // are audited too by default: their reports are not the fleet's, so their writes are kept apart.
  let otherKindWrites = 0;
  for (const s of o.samples) {
    if (s.name !== 'fleetscan_writer_reports_total') continue;
    const out = s.labels.outcome ?? '';
    if (s.labels.kind !== undefined && !FLEET_REPORT_KINDS.has(s.labels.kind)) {
      if (out === 'written') otherKindWrites += s.value;
      continue;
    }
    outcomes[out] = (outcomes[out] ?? 0) + s.value;
  }
  const writes = outcomes.written ?? 0;
  const peak = (pred: (p: PassProc) => boolean) => Math.max(0, ...o.peakRss.filter(pred).map((p) => p.bytes));
  const published = (type: string) =>
    sumOf(o.samples, 'fleetscan_watcher_requests_total', { type, outcome: 'published' });
  return {
    reports: o.reports,
    ...(o.probeReports ? { probeReports: o.probeReports } : {}),
    writes,
    ...(otherKindWrites > 0 && { otherKindWrites }),
    writesPerReport: o.reports + (o.probeReports ?? 0) > 0 ? writes / (o.reports + (o.probeReports ?? 0)) : 0,
    writerOutcomes: outcomes,
    trivyImageRuns: runs('image'),
    trivyConfigRuns: runs('config'),
    requestsPublished: { image: published('image'), config: published('config') },
    cpu: o.cpu,
    peakRss: { watcher: peak(isWatcher), writer: peak(isWriter), scanners: peak(isScanner) },
  };
}
