import { CLUSTER_NAME_PATTERN, natsEnv, natsSettings } from '@fleetscan/bus';
import { parseGoDuration } from '@fleetscan/reports';
import { parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  CLUSTER_NAME: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, 'lowercase letters, digits and "-", at most 63 characters'),
  KUBECONFIG: z.string().optional(),
  ...natsEnv,
  REPORT_TTL: z
    .string()
    .default('24h')
    .transform((s, ctx) => {
      try {
        return parseGoDuration(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'a duration such as 24h or 90m' });
        return z.NEVER;
      }
    }),
  WRITE_CONCURRENCY: int(8, 1),
  MAX_REPORT_BYTES: int(1_000_000, 10_000),
  CLEANUP_INTERVAL_SECONDS: int(60, 1),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type WriterConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    nats: natsSettings(c),
    reportTtlSeconds: c.REPORT_TTL,
    writeConcurrency: c.WRITE_CONCURRENCY,
    maxReportBytes: c.MAX_REPORT_BYTES,
    cleanupIntervalMs: c.CLEANUP_INTERVAL_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}
