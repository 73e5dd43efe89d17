/** For embedding (tests, the demo, benchmarks): the same wiring main.ts uses. */
export { type FleetviewDeps, type RunningFleetview, startFleetview } from './app.ts';
export { type FleetviewConfig, loadConfig } from './config.ts';
