import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { keyId, natsEnv, natsSettings } from '@fleetscan/bus';
import { ConfigError, parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  ...natsEnv,
  /**
   * Replicas of the streams, buckets and object stores the scanners create (they own the topology):
   * 3 on a 3-node NATS cluster, 1 on a single server.
   */
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  TRIVY_BIN: z.string().min(1).default('trivy'),
  TRIVY_CACHE_DIR: z.string().min(1, "a directory holding trivy's DB (db/trivy.db)"),
  SCAN_TIMEOUT_SECONDS: int(300, 1),
  IMAGE_CONCURRENCY: int(1, 1),
  CONFIG_BATCH_SIZE: int(500, 1),
  CONFIG_BATCH_WAIT_MS: int(250, 0),
  /** Registries to reach over plain HTTP besides loopback ones (comma-separated host:port). */
  INSECURE_REGISTRIES: z.string().default(''),
  ACK_WAIT_SECONDS: int(60, 5),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  REPLICA_NAME: z.string().min(1).default(hostname()),
  /** PEM (PKCS#8) private key of the scanner fleet: opens registry credentials sealed by watchers. */
  SCANNER_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  /** How often <TRIVY_CACHE_DIR>/db/metadata.json is re-read to notice a new DB. */
  DB_CHECK_SECONDS: int(30, 1),
});

export type ScannerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    nats: { ...natsSettings(c), replicas: c.NATS_REPLICAS },
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
    dbCheckMs: c.DB_CHECK_SECONDS * 1000,
    ...(c.SCANNER_PRIVATE_KEY_FILE && { privateKey: loadPrivateKey(c.SCANNER_PRIVATE_KEY_FILE) }),
  };
}

export interface ScannerPrivateKey {
  /** A KeyObject, so that printing the config never prints the key. */
  key: KeyObject;
  /** keyId() of its public half: sealed boxes name the key they were sealed for. */
  kid: string;
}

function loadPrivateKey(file: string): ScannerPrivateKey {
  const fail = (message: string): never => {
    throw new ConfigError([{ variable: 'SCANNER_PRIVATE_KEY_FILE', message }]);
  };
  let pem = '';
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const key = createPrivateKey(pem);
    return { key, kid: keyId(pem) };
  } catch {
    return fail(`${file} is not a PEM private key (PKCS#8 expected)`);
  }
}
