/** For embedding (tests, the demo, benchmarks): the same wiring main.ts uses. */
export { type FleetviewDeps, type RunningFleetview, startFleetview } from './app.ts';
export { type FleetviewConfig, loadConfig } from './config.ts';
/** The model and its questions without NATS or HTTP (test/measure/fleetview-scale.ts). */
export { decodeFleetMessage } from './decode.ts';
export { createModel, type FleetModel } from './model.ts';
export { clusterPosture, fixFirst, newSince, whereDigest, whereVulnerability } from './queries.ts';
