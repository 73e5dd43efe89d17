import type { RequestCounts } from './apiserver-requests.ts';
import type { FleetWorkload } from './fleet.ts';
import type { NatsTraffic } from './nats-stats.ts';
import { BENCH_KEY, byProcess, type CpuSnapshot, type StackProc, stackKey } from './pass-figures.ts';
import { ownCpu } from './proc.ts';
import { histogramQuantile, type Sample, sumOf } from './prom.ts';
import type { BenchResult, PassFigures } from './result.ts';
import { quantile } from './stats.ts';
import type { BaselineResult, FloorResult } from './trivy-phases.ts';

/**
 * How the benchmark's figures are derived from what it measured: pure functions of readings, so
 * each formula is tested on its own. Times are milliseconds of the benchmark's clock.
 */

type FirstPass = NonNullable<BenchResult['firstPass']>;
type SecondPass = NonNullable<BenchResult['secondPass']>;
type Baseline = NonNullable<BenchResult['baseline']>;
type ControlPlane = NonNullable<BenchResult['controlPlane']>;

/** Image scans at once: S replicas × each one's IMAGE_CONCURRENCY (the scanner's default is 1). */
export function scanConcurrency(
  scanners: number,
  serviceEnv: Readonly<Record<string, string>>,
): BenchResult['concurrency'] {
  const perScanner = Number(serviceEnv.IMAGE_CONCURRENCY ?? 1) || 1;
  return { scanners, imageConcurrencyPerScanner: perScanner, total: scanners * perScanner };
}

/** The fleet as created: owners by kind, containers, and the reports it must end with. */
export function fleetSummary(fleet: readonly FleetWorkload[], configOnly = false): BenchResult['fleet'] {
  const byKind: Record<string, number> = {};
  for (const w of fleet) byKind[w.kind] = (byKind[w.kind] ?? 0) + 1;
  const containers = fleet.reduce((a, w) => a + w.containers.length, 0);
  return {
    workloads: fleet.length,
    byKind,
    containers,
    expectedReports: fleet.length + (configOnly ? 0 : containers),
    namespaces: new Set(fleet.map((w) => w.namespace)).size,
  };
}

/** The floor: trivy alone, all of the work back to back, spread over the scan concurrency. */
export function floorFigures(floor: FloorResult, concurrency: number): BenchResult['floor'] {
  const floorMs = (floor.imageMs.reduce((a, b) => a + b, 0) + floor.configMs) / concurrency;
  return { ...floor, floorMs };
}

/** The baseline measured on `sampled` owners, extrapolated linearly to the fleet. */
export function baselineFigures(
  b: BaselineResult,
  o: { sampled: number; fleet: BenchResult['fleet']; uniqueDigests: number },
): Baseline {
  return {
    ...b,
    extrapolated: o.sampled < o.fleet.workloads,
    estimatedMs: (b.wallMs * o.fleet.workloads) / o.sampled,
    // trivy-operator scans every container of every owner: one run per container.
    amplification: o.fleet.containers / o.uniqueDigests,
  };
}

/** The baseline's time over fleetscan's. */
export function withFleetscanTime(b: Baseline, timeToAllReportsMs: number): Baseline {
  return { ...b, ratioToFleetscan: b.estimatedMs / timeToAllReportsMs };
}

/** First create → last report; when the run gave up waiting, first create → then. */
export function timeToAllReportsMs(o: {
  t0: number;
  now: number;
  lastReportAt: number | undefined;
  timedOut: boolean;
}): number {
  return (o.timedOut ? o.now : (o.lastReportAt ?? o.now)) - o.t0;
}

/** Last report → the pipeline idle (or given up on). */
export function drainMs(lastReportAt: number | undefined, now: number): number {
  return now - (lastReportAt ?? now);
}

const PUBLISH_ACK = 'fleetscan_watcher_publish_ack_seconds';

/** Everything the first pass reports, from its counters and the benchmark's own timings. */
export function firstPassFigures(o: {
  pass: PassFigures;
  /** First create request. */
  t0: number;
  timeToAllReportsMs: number;
  /** Last create answered; 0 when creating did not finish. */
  createdAt: number;
  drained: boolean;
  drainMs: number;
  nats: NatsTraffic | undefined;
  apiRequests: RequestCounts;
  lastOwnerSeenAt: number | undefined;
  latencies: { ownerMs: readonly number[]; reportsMs: readonly number[] };
  /** When each finished workload got its last report. */
  doneTimes: readonly number[];
  floorMs: number;
  uniqueDigests: number;
  owners: number;
  nproc: number;
  /** The pass's services' /metrics at its end. */
  samples: readonly Sample[];
}): FirstPass {
  const { pass, t0 } = o;
  const cpuTotal = pass.cpu.watcherSec + pass.cpu.writerSec + pass.cpu.scannerSec;
  const p50 = histogramQuantile(o.samples, PUBLISH_ACK, 0.5);
  const p99 = histogramQuantile(o.samples, PUBLISH_ACK, 0.99);
  return {
    ...pass,
    timeToAllReportsMs: o.timeToAllReportsMs,
    creationMs: o.createdAt - t0,
    drained: o.drained,
    drainMs: o.drainMs,
    ...(o.nats && { nats: o.nats }),
    apiRequests: o.apiRequests,
    lastOwnerMs: (o.lastOwnerSeenAt ?? 0) - t0,
    perOwnerMs: {
      p50: quantile(o.latencies.reportsMs, 0.5) ?? 0,
      p99: quantile(o.latencies.reportsMs, 0.99) ?? 0,
      max: quantile(o.latencies.reportsMs, 1) ?? 0,
    },
    ownerAppearMs: {
      p50: quantile(o.latencies.ownerMs, 0.5) ?? 0,
      p99: quantile(o.latencies.ownerMs, 0.99) ?? 0,
    },
    ratioToFloor: o.timeToAllReportsMs / o.floorMs,
    timeTo99PctMs: (quantile(o.doneTimes, 0.99) ?? t0) - t0,
    // 1.00 when every unique digest was scanned exactly once.
    amplification: pass.trivyImageRuns / o.uniqueDigests,
    configRunsPerOwner: pass.trivyConfigRuns / o.owners,
    cpuPerReportMs: (cpuTotal * 1000) / Math.max(pass.reports, 1),
    // Every process of the run on this box's cores: no schedule finishes sooner.
    cpuBoundMs: ((cpuTotal + pass.cpu.trivySec + pass.cpu.stackSec + pass.cpu.benchSec) * 1000) / o.nproc,
    publishAck: {
      ...(p50 !== undefined ? { p50Ms: p50 * 1000 } : {}),
      ...(p99 !== undefined ? { p99Ms: p99 * 1000 } : {}),
      count: sumOf(o.samples, `${PUBLISH_ACK}_count`),
    },
  };
}

type ReportEvents = SecondPass['reportEvents'];

/** The second pass: restarted watcher and writer over a fleet already reported. */
export function secondPassFigures(o: {
  pass: PassFigures;
  readyMs: number;
  evaluatedMs: number;
  settledMs: number;
  eventsBefore: ReportEvents;
  eventsAfter: ReportEvents;
}): SecondPass {
  return {
    ...o.pass,
    readyMs: o.readyMs,
    evaluatedMs: o.evaluatedMs,
    settledMs: o.settledMs,
    reportEvents: {
      added: o.eventsAfter.added - o.eventsBefore.added,
      modified: o.eventsAfter.modified - o.eventsBefore.modified,
      deleted: o.eventsAfter.deleted - o.eventsBefore.deleted,
    },
  };
}

/** The fleet created with no fleetscan service: the control plane's own time and CPU. */
export function controlPlaneFigures(o: {
  before: CpuSnapshot;
  after: CpuSnapshot;
  stack: readonly StackProc[];
  apiRequests: RequestCounts;
  t0: number;
  createdAt: number;
  lastOwnerSeenAt: number | undefined;
  now: number;
  ownerMs: readonly number[];
}): ControlPlane {
  // Unlike a pass, nothing starts or stops here: a process missing from either snapshot counts 0.
  const delta = (key: string) => {
    const a = o.after.get(key);
    const b = o.before.get(key);
    return a && b ? ownCpu(a) - ownCpu(b) : 0;
  };
  return {
    timeToAllOwnersMs: (o.lastOwnerSeenAt ?? o.now) - o.t0,
    creationMs: o.createdAt - o.t0,
    ownerAppearMs: { p50: quantile(o.ownerMs, 0.5) ?? 0, p99: quantile(o.ownerMs, 0.99) ?? 0 },
    stackCpuSec: o.stack.reduce((a, { pid }) => a + delta(stackKey(pid)), 0),
    stackByProcess: byProcess(o.stack, (pid) => delta(stackKey(pid))),
    apiRequests: o.apiRequests,
    benchCpuSec: delta(BENCH_KEY),
  };
}
