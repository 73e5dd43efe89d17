export type { BenchIo } from './context.ts';
export { type FleetWorkload, planFleet, workloadManifest } from './fleet.ts';
export { variantSpec } from './images.ts';
export { type BenchOptions, HELP, parseBenchArgs } from './options.ts';
export { type ProbeServerTimes, probeServerTimes } from './probe-audit.ts';
export { readMemory } from './proc.ts';
export { formatResult } from './report.ts';
export type { BenchResult } from './result.ts';
export { runBench } from './run.ts';
