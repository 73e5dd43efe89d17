/** For embedding (tests, the demo, benchmarks): the same wiring main.ts uses. */
export { type RunningWatcher, startWatcher, type WatcherDeps } from './app.ts';
export { loadConfig, type WatcherConfig } from './config.ts';
