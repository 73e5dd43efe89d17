import { z } from 'zod';

/**
 * The zod pieces the services' config schemas are made of, so that a variable of one kind parses,
 * defaults and documents itself the same in every service.
 */

/** A whole number of at least `min`; `def` when unset. */
export const envInt = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** true or false (1 or 0); `def` when unset. */
export const envBool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** A comma-separated list, each item trimmed, empty ones dropped; unset: none. */
export const envList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/** Where a service serves /metrics, /healthz and /readyz, and how much it logs. */
export const opsEnv = {
  METRICS_HOST: z.string().default('127.0.0.1').describe('address of /metrics, /healthz and /readyz'),
  METRICS_PORT: envInt(8080).describe('port of /metrics, /healthz and /readyz'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
    .default('info')
    .describe('fatal, error, warn, info, debug or trace'),
};
