import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { keyId, MAX_DELIVERIES, natsEnv, natsSettings } from '@fleetscan/bus';
import { ConfigError, envVariables, envInt as int, opsEnv, parseEnv } from '@fleetscan/service';
import { z } from 'zod';

/**
 * Every variable the scanner reads. Each one's `.describe()` is what `--help` and the README's table
 * say about it (`npm run docs`); its default is the one they show.
 */
const schema = z.object({
  // NATS_URL, this service's NATS credentials (a file) and TLS: packages/bus/src/nats-config.ts.
  ...natsEnv,
  NATS_REPLICAS: z.coerce
    .number()
    .int()
    .min(1)
    .max(5)
    .default(1)
    .describe(
      'replicas of the streams, KV buckets and object stores the scanners create (they own the topology): 3 on a 3-node NATS cluster',
    ),
  TRIVY_BIN: z
    .string()
    .min(1)
    .default('trivy')
    .describe(
      'trivy binary (`trivy version`, and every run with TRIVY_RUNS=process), found on PATH unless a path',
    ),
  TRIVY_CACHE_DIR: z
    .string()
    .min(1, "a directory holding trivy's DB (db/trivy.db)")
    .describe("trivy's cache directory holding db/trivy.db; never updated from the network"),
  SCAN_TIMEOUT_SECONDS: int(300, 1)
    .describe(
      'kill trivy (its whole process group) after this long, and the audit worker when a config audit batch takes longer',
    )
    .meta({ trivyOperator: 'trivy.timeout' }),
  REQUEST_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'the most one request may take, all steps together: digest lookup, lock waits, every trivy run, stores; past it the request counts as a TIMEOUT, and a handler still running 30 s later is a stuck slot (/readyz, fleetscan_consumer_stuck_handlers); unset: 3 x SCAN_TIMEOUT_SECONDS + 60',
    ),
  BULK_TRIVY_NICENESS: z.coerce
    .number()
    .int()
    .min(0)
    .max(19)
    .default(10)
    .describe(
      "nice(1) of the trivy runs of bulk-lane requests (refreshes, the backlog at start) and of the audit worker's threads that audit them, so that urgent ones and the node's other work get the CPU first; 0: none",
    ),
  SCAN_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_DELIVERIES)
    .default(3)
    .describe(
      'deliveries of an image request that fails transiently (registry unreachable, trivy failed, timeout) before its error result is published; retried after ~1 s, 2 s, 4 s… (jittered); a permanent failure (not found, unauthorized, invalid reference) is published at once. The writer then keeps the failure and the watcher retries it with backoff (FAILED_SCAN_RETRY_SECONDS)',
    ),
  IMAGE_CONCURRENCY: int(1, 1).describe(
    'image scans this replica runs at once in each lane (urgent: changes in the cluster; bulk: the backlog at start, refreshes)',
  ),
  CONFIG_BATCH_SIZE: int(500, 1).describe(
    'manifests per config audit batch at most, in each lane (sent to the audit worker AUDITOR_REQUEST_MANIFESTS at a time)',
  ),
  CONFIG_BATCH_WAIT_MS: int(250, 0).describe(
    'how long a bulk config batch waits to fill while no batch runs (urgent audits start at once)',
  ),
  AUDITOR_BIN: z
    .string()
    .min(1)
    .default('fleetscan-auditor')
    .describe(
      "the config audit worker (trivy's checks linked as a library, compiled once at its start) and, with TRIVY_RUNS=worker, the trivy workers (`fleetscan-auditor trivy`), found on PATH unless a path",
    ),
  TRIVY_RUNS: z
    .enum(['worker', 'process'])
    .default('worker')
    .describe(
      "where trivy's image, convert and sbom commands run: 'worker', in long-lived AUDITOR_BIN processes (`fleetscan-auditor trivy`, trivy's own commands in-process, up to IMAGE_CONCURRENCY idle per lane), without trivy's start-up per run; 'process', a TRIVY_BIN process per run",
    ),
  AUDITOR_CONCURRENCY: int(1, 1).describe(
    'manifests of a batch the audit worker evaluates at once (threads)',
  ),
  AUDITOR_REQUEST_MANIFESTS: int(10, 1).describe(
    'manifests per audit worker request, one request at a time in each lane (an urgent request is audited beside the bulk one in progress)',
  ),
  AUDITOR_GC_PERCENT: int(200, 25).describe(
    "the audit worker's Go GOGC: higher spends memory (about 55 MB per 100) to spend less CPU collecting garbage",
  ),
  INSECURE_REGISTRIES: z
    .string()
    .default('')
    .describe('registries reached over plain HTTP besides loopback ones, comma-separated host:port')
    .meta({ trivyOperator: 'trivy.nonSslRegistries' }),
  ACK_WAIT_SECONDS: int(15, 5).describe(
    "redelivery timeout of a message without in-progress acks, which are sent every third of it: how soon a dead replica's work moves",
  ),
  ...opsEnv,
  // Not .default(hostname()): the documentation would show the host that generated it.
  REPLICA_NAME: z.string().min(1).optional().describe("this replica's name; unset: the host name"),
  SCANNER_PRIVATE_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM (PKCS#8) private key of the scanner fleet, opening registry credentials that watchers sealed; unset: requests carrying credentials fail with CREDENTIALS',
    ),
  DB_CHECK_SECONDS: int(30, 1).describe(
    're-read <TRIVY_CACHE_DIR>/db/metadata.json this often; a new DB version is published to the fleetscan-state KV bucket (key trivy-db) for watchers',
  ),
});

/** What --help and the README say about each variable. */
export function configVariables() {
  return envVariables(schema);
}

export type ScannerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    nats: { ...natsSettings(c), replicas: c.NATS_REPLICAS },
    trivy: {
      bin: c.TRIVY_BIN,
      cacheDir: c.TRIVY_CACHE_DIR,
      timeoutMs: c.SCAN_TIMEOUT_SECONDS * 1000,
      bulkNiceness: c.BULK_TRIVY_NICENESS,
      ...(c.TRIVY_RUNS === 'worker' && { workers: { bin: c.AUDITOR_BIN, maxIdle: c.IMAGE_CONCURRENCY } }),
      auditor: {
        bin: c.AUDITOR_BIN,
        concurrency: c.AUDITOR_CONCURRENCY,
        gcPercent: c.AUDITOR_GC_PERCENT,
        requestManifests: c.AUDITOR_REQUEST_MANIFESTS,
      },
    },
    // An image request runs trivy up to three times (image, convert, sbom), besides lookups and locks.
    requestTimeoutMs: (c.REQUEST_TIMEOUT_SECONDS ?? 3 * c.SCAN_TIMEOUT_SECONDS + 60) * 1000,
    scanAttempts: c.SCAN_ATTEMPTS,
    imageConcurrency: c.IMAGE_CONCURRENCY,
    configBatch: { size: c.CONFIG_BATCH_SIZE, waitMs: c.CONFIG_BATCH_WAIT_MS },
    insecureRegistries: c.INSECURE_REGISTRIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    ackWaitMs: c.ACK_WAIT_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
    replica: c.REPLICA_NAME ?? hostname(),
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
