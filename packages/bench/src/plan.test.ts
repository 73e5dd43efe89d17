import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.ts';
import { planAfterFirstPass, planBench, stackOptionsFor } from './plan.ts';

const opts = (...argv: string[]) => {
  const o = parseBenchArgs(argv);
  if (o === 'help') throw new Error('help');
  return o;
};

describe('what a run measures', () => {
  it('runs the floor and no baseline by default', () => {
    expect(planBench(opts(), 400)).toEqual({
      floor: true,
      baselineOwners: undefined,
      controlPlaneOnly: false,
    });
    expect(planBench(opts('--no-floor'), 400).floor).toBe(false);
  });

  it('runs the baseline on its sample, at most the fleet, and on the whole fleet for a sample of 0', () => {
    expect(planBench(opts('--baseline'), 1000).baselineOwners).toBe(40);
    expect(planBench(opts('--baseline', '--baseline-sample', '100'), 60).baselineOwners).toBe(60);
    expect(planBench(opts('--baseline', '--baseline-sample', '0'), 1000).baselineOwners).toBe(1000);
  });

  it('measures only the control plane with --control-plane-only', () => {
    expect(planBench(opts('--control-plane-only', '--baseline'), 100)).toEqual({
      floor: false,
      baselineOwners: undefined,
      controlPlaneOnly: true,
    });
  });

  it('runs the second pass and throughput (1 then 2 replicas, at most 200 audits) after a complete first pass', () => {
    expect(planAfterFirstPass(opts(), 1000, false)).toEqual({
      secondPass: true,
      throughput: { replicas: [1, 2], audits: 200 },
    });
    expect(planAfterFirstPass(opts(), 40, false).throughput?.audits).toBe(40);
    expect(planAfterFirstPass(opts('--no-second-pass', '--no-throughput'), 40, false)).toEqual({
      secondPass: false,
      throughput: undefined,
    });
  });

  it('runs nothing more after a first pass that gave up waiting', () => {
    expect(planAfterFirstPass(opts(), 1000, true)).toEqual({ secondPass: false, throughput: undefined });
  });
});

describe('the stack of a single-cluster run', () => {
  it("is named for the services' cluster, whose NATS users it then provisions", () => {
    expect(stackOptionsFor(opts(), 'bench')).toEqual({
      clusters: ['bench'],
      controllerManagerQps: 300,
      profiling: false,
    });
    expect(stackOptionsFor(opts('--kcm-qps', '0', '--cpu-prof'), 'bench')).toEqual({
      clusters: ['bench'],
      profiling: true,
    });
  });
});
