import { describe, expect, it } from 'vitest';
import {
  baselineFigures,
  controlPlaneFigures,
  drainMs,
  firstPassFigures,
  fleetSummary,
  floorFigures,
  scanConcurrency,
  secondPassFigures,
  timeToAllReportsMs,
  withFleetscanTime,
} from './figures.ts';
import { planFleet } from './fleet.ts';
import type { ProcCpu } from './proc.ts';
import { parsePrometheus } from './prom.ts';
import type { PassFigures } from './result.ts';
import type { BaselineResult } from './trivy-phases.ts';

const cpu = (own: number): ProcCpu => ({ user: own, system: 0, childUser: 0, childSystem: 0 });

/** A first pass like the target run in docs/BENCHMARKS.md: 1000 owners, 20 images. */
const pass: PassFigures = {
  reports: 2200,
  writes: 2200,
  writesPerReport: 1,
  writerOutcomes: { written: 2200, unchanged: 723 },
  trivyImageRuns: 20,
  trivyConfigRuns: 9,
  requestsPublished: { image: 764, config: 1000 },
  cpu: {
    watcherSec: 2.5,
    writerSec: 6.5,
    scannerSec: 1,
    trivySec: 38,
    stackSec: 43,
    stackByProcess: {},
    benchSec: 9,
  },
  peakRss: { watcher: 1, writer: 2, scanners: 3 },
};

describe('run settings and fleet', () => {
  it("takes the scan concurrency from the scanners and each one's IMAGE_CONCURRENCY", () => {
    expect(scanConcurrency(2, {})).toEqual({ scanners: 2, imageConcurrencyPerScanner: 1, total: 2 });
    expect(scanConcurrency(2, { IMAGE_CONCURRENCY: '3' })).toEqual({
      scanners: 2,
      imageConcurrencyPerScanner: 3,
      total: 6,
    });
    // The scanner would refuse these; the benchmark counts them as its default.
    expect(scanConcurrency(1, { IMAGE_CONCURRENCY: 'x' }).total).toBe(1);
    expect(scanConcurrency(1, { IMAGE_CONCURRENCY: '0' }).total).toBe(1);
  });

  it('summarises the fleet: kinds, containers, and one report per owner plus one per container', () => {
    const images = Array.from({ length: 20 }, (_, i) => `r/app-${i}:v1`);
    const fleet = planFleet({ owners: 1000, images, containers: 2, perNamespace: 50 });
    expect(fleetSummary(fleet)).toEqual({
      workloads: 1000,
      byKind: { Deployment: 850, StatefulSet: 50, DaemonSet: 50, CronJob: 50 },
      containers: 1200,
      expectedReports: 2200,
      namespaces: 20,
    });
  });
});

describe('floor and baseline', () => {
  it('spreads the floor over the scan concurrency', () => {
    const floor = { imageMs: [100, 300], configMs: 1600, configRuns: 1, manifests: 10, trivyCpuSec: 2 };
    expect(floorFigures(floor, 2)).toEqual({ ...floor, floorMs: 1000 });
  });

  const b: BaselineResult = {
    owners: 40,
    imageRuns: 48,
    configRuns: 40,
    concurrency: 10,
    wallMs: 4000,
    trivyCpuSec: 30,
    failures: 0,
    meanImageMs: 500,
    meanConfigMs: 400,
  };
  const fleet = { workloads: 1000, byKind: {}, containers: 1200, expectedReports: 2200, namespaces: 20 };

  it('extrapolates the baseline linearly from its sample, and scans once per container', () => {
    expect(baselineFigures(b, { sampled: 40, fleet, uniqueDigests: 20 })).toEqual({
      ...b,
      extrapolated: true,
      estimatedMs: 100_000,
      amplification: 60,
    });
    expect(baselineFigures(b, { sampled: 1000, fleet, uniqueDigests: 20 }).extrapolated).toBe(false);
  });

  it("compares the baseline's estimate with fleetscan's time", () => {
    const base = baselineFigures(b, { sampled: 40, fleet, uniqueDigests: 20 });
    expect(withFleetscanTime(base, 8000).ratioToFleetscan).toBe(12.5);
  });
});

describe('first pass', () => {
  it('measures time to all reports to the last report, or to now when the run gave up', () => {
    expect(timeToAllReportsMs({ t0: 1000, now: 9000, lastReportAt: 5000, timedOut: false })).toBe(4000);
    expect(timeToAllReportsMs({ t0: 1000, now: 9000, lastReportAt: 5000, timedOut: true })).toBe(8000);
    expect(timeToAllReportsMs({ t0: 1000, now: 9000, lastReportAt: undefined, timedOut: false })).toBe(8000);
    expect(drainMs(5000, 7500)).toBe(2500);
    expect(drainMs(undefined, 7500)).toBe(0);
  });

  const samples = parsePrometheus(`
fleetscan_watcher_publish_ack_seconds_bucket{le="0.001"} 50
fleetscan_watcher_publish_ack_seconds_bucket{le="0.01"} 90
fleetscan_watcher_publish_ack_seconds_bucket{le="0.1"} 100
fleetscan_watcher_publish_ack_seconds_bucket{le="+Inf"} 100
fleetscan_watcher_publish_ack_seconds_count 100
`);
  const input = {
    pass,
    t0: 1000,
    timeToAllReportsMs: 50_000,
    createdAt: 21_000,
    drained: true,
    drainMs: 2500,
    nats: undefined,
    apiRequests: { 'POST pods': 900 },
    lastOwnerSeenAt: 45_000,
    latencies: { reportsMs: [10, 20, 30, 40], ownerMs: [1, 2, 3, 4] },
    doneTimes: Array.from({ length: 100 }, (_, i) => 1000 + (i + 1) * 100),
    floorMs: 20_000,
    uniqueDigests: 20,
    owners: 1000,
    nproc: 2,
    samples,
  };

  it('derives ratios, amplification, runs per owner, CPU per report and the CPU bound', () => {
    const f = firstPassFigures(input);
    expect(f).toMatchObject({
      ...pass,
      creationMs: 20_000,
      lastOwnerMs: 44_000,
      perOwnerMs: { p50: 20, p99: 40, max: 40 },
      ownerAppearMs: { p50: 2, p99: 4 },
      ratioToFloor: 2.5,
      // the 99th of 100 workloads got its last report at 1000 + 9900
      timeTo99PctMs: 9900,
      amplification: 1,
      configRunsPerOwner: 0.009,
      // (2.5 + 6.5 + 1) s of services over 2200 reports
      cpuPerReportMs: 10_000 / 2200,
      // all CPU of the pass (10 + 38 trivy + 43 stack + 9 bench = 100 s) over 2 cores
      cpuBoundMs: 50_000,
    });
    expect(f.publishAck.count).toBe(100);
    expect(f.publishAck.p50Ms).toBeCloseTo(1);
    expect(f.publishAck.p99Ms).toBeCloseTo(91);
    expect('nats' in f).toBe(false);
  });

  it('says 2.00 amplification when every digest was scanned twice, and survives a pass without reports', () => {
    expect(firstPassFigures({ ...input, pass: { ...pass, trivyImageRuns: 40 } }).amplification).toBe(2);
    const empty = firstPassFigures({
      ...input,
      pass: { ...pass, reports: 0 },
      latencies: { reportsMs: [], ownerMs: [] },
      doneTimes: [],
      lastOwnerSeenAt: undefined,
      samples: [],
    });
    expect(empty.cpuPerReportMs).toBe(10_000);
    expect(empty.perOwnerMs).toEqual({ p50: 0, p99: 0, max: 0 });
    expect(empty.timeTo99PctMs).toBe(0);
    expect(empty.publishAck).toEqual({ count: 0 });
  });
});

describe('second pass and control plane', () => {
  it('counts report watch events during the second pass', () => {
    const f = secondPassFigures({
      pass: { ...pass, writes: 0 },
      readyMs: 1,
      evaluatedMs: 2,
      settledMs: 3,
      eventsBefore: { added: 2200, modified: 5, deleted: 0 },
      eventsAfter: { added: 2200, modified: 5, deleted: 0 },
    });
    expect(f.reportEvents).toEqual({ added: 0, modified: 0, deleted: 0 });
    expect(f).toMatchObject({ writes: 0, readyMs: 1, evaluatedMs: 2, settledMs: 3 });
  });

  it('times the control plane alone and counts only processes read at both ends', () => {
    const stack = [
      { name: 'etcd', pid: 1 },
      { name: 'registry', pid: 2 },
      { name: 'registry', pid: 3 },
    ];
    const before = new Map([
      ['stack:1', cpu(10)],
      ['stack:2', cpu(1)],
      ['bench', cpu(1)],
    ]);
    const after = new Map([
      ['stack:1', cpu(15)],
      ['stack:2', cpu(2)],
      ['stack:3', cpu(7)],
      ['bench', cpu(4)],
    ]);
    expect(
      controlPlaneFigures({
        before,
        after,
        stack,
        apiRequests: {},
        t0: 100,
        createdAt: 600,
        lastOwnerSeenAt: undefined,
        now: 1100,
        ownerMs: [5, 7],
      }),
    ).toEqual({
      timeToAllOwnersMs: 1000,
      creationMs: 500,
      ownerAppearMs: { p50: 5, p99: 7 },
      stackCpuSec: 6,
      stackByProcess: { etcd: 5, registry: 1 },
      apiRequests: {},
      benchCpuSec: 3,
    });
  });
});
