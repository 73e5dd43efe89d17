import { describe, expect, it } from 'vitest';
import { goals } from './goals.ts';
import type { BenchResult } from './result.ts';

const base = {
  complete: true,
  fleet: { workloads: 1000, byKind: {}, containers: 1200, expectedReports: 2200, namespaces: 20 },
  throughput: [],
  profiles: [],
} as unknown as BenchResult;

const pass = {
  reports: 2200,
  amplification: 1,
  writesPerReport: 1,
  ratioToFloor: Number.NaN,
  peakRss: { watcher: 150 * 2 ** 20, writer: 0, scanners: 0 },
};

describe('goals', () => {
  it('lists only what the run measured, each met or missed', () => {
    const g = goals({ ...base, firstPass: { ...pass } } as unknown as BenchResult);
    expect(g.map((x) => [x.goal, x.met])).toEqual([
      ['first pass: every report written', true],
      ['first pass: trivy image runs ÷ unique digests = 1.00', true],
      ['first pass: API writes ÷ report = 1.00', true],
    ]);
  });

  it('says missed for a second scan of a digest, a write too many, a slow new workload, a weak scale-out', () => {
    const r = {
      ...base,
      fleet: { ...base.fleet, workloads: 10_000 },
      firstPass: {
        ...pass,
        existing: { readyMs: 1 },
        amplification: 1.05,
        writesPerReport: 1.01,
        ratioToFloor: 1.3,
        peakRss: { watcher: 210 * 2 ** 20 },
      },
      secondPass: { trivyImageRuns: 0, trivyConfigRuns: 1, writes: 0 },
      probes: {
        idle: { p50Ms: 1000, p99Ms: 2000, created: 20, reported: 20 },
        coldStart: { p50Ms: 1500, p99Ms: 3000, created: 20, reported: 20 },
        dbUpdate: { p50Ms: 2500, p99Ms: 3000, created: 20, reported: 20 },
      },
      scaleOut: {
        runs: [
          { scanners: 1, imageConcurrency: 1, imagesPerSec: 1 },
          { scanners: 2, imageConcurrency: 1, imagesPerSec: 1.9 },
          { scanners: 4, imageConcurrency: 1, imagesPerSec: 2.5 },
          { scanners: 1, imageConcurrency: 2, imagesPerSec: 1.8 },
        ],
      },
    } as unknown as BenchResult;
    const g = Object.fromEntries(goals(r).map((x) => [x.goal, x.met]));
    expect(g).toEqual({
      'cold start: every report written': true,
      'cold start: trivy image runs ÷ unique digests = 1.00': false,
      'cold start: API writes ÷ report = 1.00': false,
      'cold start: time ≤ 1.25 × floor': false,
      'cold start: watcher peak RSS ≤ 200 MB at 10 000 owners': false,
      'second pass: 0 trivy runs, 0 API writes': false,
      "new workload during the cold start ≤ 2× the idle fleet's (p50 and p99)": true,
      "new workload during the DB update ≤ 2× the idle fleet's (p50 and p99)": false,
      'scale-out: S=2 ≥ 1.8× S=1 (pull-bound)': true,
      'scale-out: S=4 ≥ 3× S=1 (pull-bound)': false,
    });
  });

  // With --config-only no image is scanned on purpose: 0 image runs is no amplification missed.
  it('judges config audits alone by issue 13 goal 1, not by image runs', () => {
    const cpu = { watcherSec: 4, writerSec: 4, scannerSec: 4, trivySec: 6 };
    const configOnly = (owners: number, ms: number, reports: number) =>
      goals({
        ...base,
        options: { configOnly: true, existing: true, owners },
        fleet: { ...base.fleet, expectedReports: reports },
        firstPass: {
          ...pass,
          reports,
          amplification: 0,
          cpu,
          timeToAllReportsMs: ms,
          existing: { readyMs: 1 },
        },
      } as unknown as BenchResult);
    expect(Object.fromEntries(configOnly(1000, 19_000, 1000).map((x) => [x.goal, x.met]))).toEqual({
      'cold start: every report written': true,
      'cold start: API writes ÷ report = 1.00': true,
      'config audits: fleetscan CPU per owner ≤ 20 ms': true,
      'config audits: all ConfigAuditReports of 1 000 existing owners ≤ 20 s': true,
    });
    const small = configOnly(200, 30_000, 200);
    expect(small.map((x) => x.goal)).not.toContain(
      'config audits: all ConfigAuditReports of 1 000 existing owners ≤ 20 s',
    );
    expect(small.find((x) => x.goal.startsWith('config audits: fleetscan CPU'))).toMatchObject({
      got: '90 ms',
      met: false,
    });
  });

  it('claims nothing about the first pass of a run that gave up', () => {
    expect(goals({ ...base, complete: false, firstPass: { ...pass } } as unknown as BenchResult)).toEqual([]);
  });
});
