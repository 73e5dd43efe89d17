export { backoff } from './backoff.ts';
export { type Clock, systemClock } from './clock.ts';
export { ConfigError, isConfigError, parseEnv } from './env.ts';
export {
  type EnvSections,
  type EnvVariable,
  envVariables,
  formatEnvHelp,
  formatEnvTable,
  generatedPart,
  replaceGeneratedPart,
} from './env-docs.ts';
export { envBool, envInt, envList, opsEnv } from './env-fields.ts';
export { globToRegExp } from './glob.ts';
export {
  type HealthSource,
  type OpsServer,
  type ReadinessCheck,
  readyzBody,
  startOpsServer,
} from './http.ts';
export { createLogger, type Logger } from './logger.ts';
export { runMain } from './main.ts';
export { createServiceRegistry } from './metrics-registry.ts';
export { createReadiness, type Readiness } from './readiness.ts';
export { onShutdownSignal } from './shutdown.ts';
export { pause, systemTimers, type Timers } from './timers.ts';
