import type { BenchOptions } from './options.ts';

/**
 * A phase of a run. `first-pass` creates the fleet with fleetscan running; `control-plane` creates
 * it with no fleetscan service (alone with --control-plane-only, before `cold-start` with
 * --existing); `cold-start` starts fleetscan into the fleet already there.
 */
export type Phase =
  | 'floor'
  | 'baseline'
  | 'control-plane'
  | 'first-pass'
  | 'cold-start'
  | 'idle-probes'
  | 'idle-new-image-probes'
  | 'db-update'
  | 'second-pass'
  | 'throughput'
  | 'cli-audits'
  | 'api-cost'
  | 'scale-out'
  | 'hold';

/** What one benchmark run measures, decided from its options and the fleet. */
export interface BenchPlan {
  /** Owners trivy-operator's model runs on before it is extrapolated; undefined: no baseline. */
  baselineOwners: number | undefined;
  /** Images and a fleet are pushed and planned (every mode but --scale-out). */
  fleet: boolean;
  /** In order. `hold` is last whenever asked for, whatever the mode. */
  phases: readonly Phase[];
}

export function planBench(opts: BenchOptions, owners: number): BenchPlan {
  const phases: Phase[] = [];
  const add = (on: boolean, ...p: Phase[]) => {
    if (on) phases.push(...p);
  };
  const fleet = !opts.scaleOut;
  if (opts.scaleOut) add(true, 'scale-out');
  else if (opts.controlPlaneOnly) add(true, 'control-plane');
  else {
    add(opts.floor, 'floor');
    add(opts.baseline, 'baseline');
    if (opts.existing) add(true, 'control-plane', 'cold-start');
    else add(true, 'first-pass');
    // The idle fleet's latency, measured before any later load phase disturbs it.
    add(opts.probes > 0, 'idle-probes');
    add(opts.dbUpdate, 'db-update');
    // Idle again, a few probes whose images were never scanned: what a probe that waits for its
    // image's first analysis takes without any load. After the DB update, which they would add to.
    add(opts.probes > 0 && !opts.configOnly, 'idle-new-image-probes');
    add(opts.secondPass, 'second-pass');
    add(opts.throughput, 'throughput');
    // The former config audit engine restarts the services into the fleet: after everything that
    // measures them as they were.
    add(opts.cliAudits, 'cli-audits');
    add(opts.apiCost > 0, 'api-cost');
  }
  add(opts.hold, 'hold');
  return {
    baselineOwners: opts.baseline && fleet ? baselineOwners(opts.baselineSample, owners) : undefined,
    fleet,
    phases,
  };
}

/** Owners the baseline runs on: its sample, at most the fleet; 0 means the whole fleet. */
export function baselineOwners(sample: number, owners: number): number {
  return sample === 0 ? owners : Math.min(sample, owners);
}

/**
 * Whether a phase still runs. After a first pass (or cold start) that gave up waiting only `hold`
 * does: the pipeline is still at work, so a restart would measure leftovers, throughput would share
 * the scanners with them, and probes would measure the backlog.
 */
export function phaseRuns(phase: Phase, gaveUp: boolean): boolean {
  return !gaveUp || phase === 'hold';
}

/** Scanner throughput: replica counts to time, and config audits published for each. */
export interface ThroughputPlan {
  replicas: readonly number[];
  audits: number;
}

/** Scanner throughput publishes at most this many of the fleet's config audits. */
const THROUGHPUT_AUDITS = 200;

export function throughputPlan(owners: number): ThroughputPlan {
  return { replicas: [1, 2], audits: Math.min(owners, THROUGHPUT_AUDITS) };
}
