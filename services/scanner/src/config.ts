import { hostname } from 'node:os';
import { parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  TRIVY_BIN: z.string().min(1).default('trivy'),
  TRIVY_CACHE_DIR: z.string().min(1, "a directory holding trivy's DB (db/trivy.db)"),
  SCAN_TIMEOUT_SECONDS: int(300, 1),
  IMAGE_CONCURRENCY: int(1, 1),
  CONFIG_BATCH_SIZE: int(50, 1),
  CONFIG_BATCH_WAIT_MS: int(250, 0),
  /** Registries to reach over plain HTTP besides loopback ones (comma-separated host:port). */
  INSECURE_REGISTRIES: z.string().default(''),
  ACK_WAIT_SECONDS: int(60, 5),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  REPLICA_NAME: z.string().min(1).default(hostname()),
});

export type ScannerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    nats: { url: c.NATS_URL, user: c.NATS_USER, pass: c.NATS_PASSWORD },
    trivy: { bin: c.TRIVY_BIN, cacheDir: c.TRIVY_CACHE_DIR, timeoutMs: c.SCAN_TIMEOUT_SECONDS * 1000 },
    imageConcurrency: c.IMAGE_CONCURRENCY,
    configBatch: { size: c.CONFIG_BATCH_SIZE, waitMs: c.CONFIG_BATCH_WAIT_MS },
    insecureRegistries: c.INSECURE_REGISTRIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    ackWaitMs: c.ACK_WAIT_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
    replica: c.REPLICA_NAME,
  };
}
