import { CLUSTER_NAME_PATTERN } from '@fleetscan/bus';
import { parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  CLUSTER_NAME: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, 'lowercase letters, digits and "-", at most 63 characters'),
  KUBECONFIG: z.string().optional(),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  SCANNERS: z
    .string()
    .default('vuln')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['vuln', 'secret'])).min(1)),
  RESYNC_SECONDS: int(300, 1),
  REQUEST_RETRY_SECONDS: int(600, 1),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type WatcherConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    nats: { url: c.NATS_URL, user: c.NATS_USER, pass: c.NATS_PASSWORD },
    settings: { scanners: c.SCANNERS },
    resyncMs: c.RESYNC_SECONDS * 1000,
    retryAfterMs: c.REQUEST_RETRY_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}
