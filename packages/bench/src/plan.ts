import type { BenchOptions } from './options.ts';

/** What one benchmark run measures, decided from its options and the fleet. */
export interface BenchPlan {
  /** trivy alone over the same work. */
  floor: boolean;
  /** Owners trivy-operator's model runs on before it is extrapolated; undefined: no baseline. */
  baselineOwners: number | undefined;
  /** No fleetscan service: only the control plane's time to every report owner. */
  controlPlaneOnly: boolean;
}

export function planBench(opts: BenchOptions, owners: number): BenchPlan {
  return {
    floor: opts.floor,
    baselineOwners: opts.baseline ? baselineOwners(opts.baselineSample, owners) : undefined,
    controlPlaneOnly: opts.controlPlaneOnly,
  };
}

/** Owners the baseline runs on: its sample, at most the fleet; 0 means the whole fleet. */
export function baselineOwners(sample: number, owners: number): number {
  return sample === 0 ? owners : Math.min(sample, owners);
}

/** The phases after the first pass. */
export interface LaterPhases {
  secondPass: boolean;
  /** Scanner throughput: replica counts to time, and config audits published for each. */
  throughput: { replicas: readonly number[]; audits: number } | undefined;
}

/** Scanner throughput publishes at most this many of the fleet's config audits. */
const THROUGHPUT_AUDITS = 200;

/**
 * After a first pass that gave up waiting nothing more runs: the pipeline is still at work, so a
 * restart would measure leftovers and throughput would share the scanners with them.
 */
export function planAfterFirstPass(opts: BenchOptions, owners: number, timedOut: boolean): LaterPhases {
  return {
    secondPass: opts.secondPass && !timedOut,
    throughput:
      opts.throughput && !timedOut
        ? { replicas: [1, 2], audits: Math.min(owners, THROUGHPUT_AUDITS) }
        : undefined,
  };
}

/**
 * The stack a single-cluster run starts. Its one cluster is named for the services the run starts
 * (`cluster`): NATS users are per cluster, and a stack's default cluster (`local`) would leave the
 * services without theirs.
 */
export function stackOptionsFor(
  opts: BenchOptions,
  cluster: string,
): { clusters: string[]; controllerManagerQps?: number; profiling: boolean } {
  return {
    clusters: [cluster],
    ...(opts.kcmQps > 0 && { controllerManagerQps: opts.kcmQps }),
    profiling: opts.cpuProf,
  };
}
