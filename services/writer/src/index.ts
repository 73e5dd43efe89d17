/** For embedding (tests, the demo, benchmarks): the same wiring main.ts uses. */
export { type RunningWriter, startWriter, type WriterDeps } from './app.ts';
export { createReportApi, FIELD_MANAGER, type ReportApi } from './apply.ts';
export { loadConfig, type WriterConfig } from './config.ts';
