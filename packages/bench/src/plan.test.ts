import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.ts';
import { phaseRuns, planBench, throughputPlan } from './plan.ts';

const opts = (...argv: string[]) => {
  const o = parseBenchArgs(argv);
  if (o === 'help') throw new Error('help');
  return o;
};

describe('what a run measures', () => {
  it('runs the floor, the first pass, the second pass and throughput by default, no baseline', () => {
    expect(planBench(opts(), 400)).toEqual({
      baselineOwners: undefined,
      fleet: true,
      phases: ['floor', 'first-pass', 'second-pass', 'throughput'],
    });
    expect(planBench(opts('--no-floor', '--no-second-pass', '--no-throughput'), 400).phases).toEqual([
      'first-pass',
    ]);
  });

  it('runs the baseline on its sample, at most the fleet, and on the whole fleet for a sample of 0', () => {
    expect(planBench(opts('--baseline'), 1000).baselineOwners).toBe(40);
    expect(planBench(opts('--baseline', '--baseline-sample', '100'), 60).baselineOwners).toBe(60);
    expect(planBench(opts('--baseline', '--baseline-sample', '0'), 1000).baselineOwners).toBe(1000);
  });

  it('measures only the control plane with --control-plane-only', () => {
    expect(planBench(opts('--control-plane-only', '--baseline', '--existing'), 100)).toEqual({
      baselineOwners: undefined,
      fleet: true,
      phases: ['control-plane'],
    });
  });

  // It used to return right after the control plane's figures, before holding.
  it('holds last in every mode, --control-plane-only included', () => {
    for (const mode of [[], ['--control-plane-only'], ['--existing'], ['--scale-out'], ['--db-update']]) {
      const phases = planBench(opts(...mode, '--hold'), 100).phases;
      expect(phases.at(-1)).toBe('hold');
      expect(phases.filter((p) => p === 'hold')).toHaveLength(1);
    }
    expect(planBench(opts('--control-plane-only', '--hold'), 100).phases).toEqual(['control-plane', 'hold']);
    expect(planBench(opts('--control-plane-only'), 100).phases).not.toContain('hold');
  });

  it('creates the fleet before fleetscan starts with --existing, and probes the idle fleet after the cold start', () => {
    expect(planBench(opts('--existing', '--probes', '20', '--no-floor'), 1000).phases).toEqual([
      'control-plane',
      'cold-start',
      'idle-probes',
      'idle-new-image-probes',
      'second-pass',
      'throughput',
    ]);
  });

  it('probes the idle fleet before a DB update refreshes it, and measures API cost last', () => {
    expect(
      planBench(opts('--db-update', '--probes', '5', '--no-second-pass', '--api-cost', '100'), 100).phases,
    ).toEqual([
      'floor',
      'first-pass',
      'idle-probes',
      'db-update',
      'idle-new-image-probes',
      'throughput',
      'api-cost',
    ]);
  });

  it('runs the former config audit engine after the cold start and throughput, before API cost', () => {
    expect(
      planBench(
        opts('--config-only', '--existing', '--cli-audits', '--no-second-pass', '--api-cost', '10'),
        200,
      ).phases,
    ).toEqual(['floor', 'control-plane', 'cold-start', 'throughput', 'cli-audits', 'api-cost']);
    expect(planBench(opts('--cli-audits', '--scale-out'), 100).phases).toEqual(['scale-out']);
  });

  it('runs only the scale-out phase with --scale-out: no fleet, floor or baseline', () => {
    expect(planBench(opts('--scale-out', '--baseline', '--existing'), 100)).toEqual({
      baselineOwners: undefined,
      fleet: false,
      phases: ['scale-out'],
    });
  });

  it('runs nothing but hold after a first pass that gave up waiting', () => {
    expect(phaseRuns('second-pass', true)).toBe(false);
    expect(phaseRuns('idle-probes', true)).toBe(false);
    expect(phaseRuns('hold', true)).toBe(true);
    expect(phaseRuns('second-pass', false)).toBe(true);
  });

  it('times throughput with 1 then 2 replicas, on at most 200 audits', () => {
    expect(throughputPlan(1000)).toEqual({ replicas: [1, 2], audits: 200 });
    expect(throughputPlan(40).audits).toBe(40);
  });

  it('refuses probes with no load to run under', () => {
    expect(() => opts('--probes', '5')).toThrow(/--existing|--db-update/);
  });
});
