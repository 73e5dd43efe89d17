/** For embedding (tests, the demo, benchmarks): the same wiring main.ts uses. */
export { type RunningScanner, type ScannerDeps, startScanner } from './app.ts';
export { loadConfig, type ScannerConfig } from './config.ts';
export type { ScanEngine } from './engine.ts';
export { createTrivyEngine } from './trivy-engine.ts';
