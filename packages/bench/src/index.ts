export { type FleetWorkload, planFleet, workloadManifest } from './fleet.ts';
export { variantSpec } from './images.ts';
export { type BenchOptions, HELP, parseBenchArgs } from './options.ts';
export { formatResult } from './report.ts';
export type { BenchResult } from './result.ts';
export { type BenchIo, runBench } from './run.ts';
