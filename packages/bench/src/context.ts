import type { ServiceProcess } from '@fleetscan/demo';
import type { Stack } from '@fleetscan/stack';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FleetWorkload } from './fleet.ts';
import type { Monitor } from './monitor.ts';
import type { BenchOptions } from './options.ts';
import type { StackProc } from './pass-figures.ts';

export interface BenchIo {
  /** A line about what is happening now. */
  say(msg: string): void;
  /** The live progress line (overwritten on a terminal). */
  progress(line: string): void;
}

/** A service process of the run, by the name the monitor tracks it under (`watcher#1`). */
export interface StartedService {
  name: string;
  svc: ServiceProcess;
}

/** What the phases of one run share once the stack is up and the fleet planned. */
export interface BenchContext {
  opts: BenchOptions;
  io: BenchIo;
  /** This run's id, in workload names and labels. */
  run: string;
  stack: Stack;
  kc: KubeConfig;
  fleet: readonly FleetWorkload[];
  monitor: Monitor;
  /** Every service process started so far (stopped ones too: their last figures still count). */
  started: readonly StartedService[];
  stackPids: readonly StackProc[];
  /** Starts service processes for the bench cluster and tracks them as `<name>#<generation>`. */
  startServices(o: {
    scanners: number;
    only?: 'scanner';
    generation: number;
    /** Over the run's service environment. */
    env?: Record<string, string>;
  }): Promise<ServiceProcess[]>;
}

/** The benchmark's clock, milliseconds: the tracker's timestamps are on it. */
export const now = () => performance.timeOrigin + performance.now();
