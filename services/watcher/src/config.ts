import { readFileSync } from 'node:fs';
import { CLUSTER_NAME_PATTERN, natsEnv, natsSettings } from '@fleetscan/bus';
import { OWNER_KINDS } from '@fleetscan/inventory';
import { ImageScannerSchema, SEVERITIES } from '@fleetscan/reports';
import { parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
/** A path whose contents are read once at start; errors name the variable. */
const fileContents = z
  .string()
  .optional()
  .transform((p, ctx) => {
    if (!p) return undefined;
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${p}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const schema = z.object({
  CLUSTER_NAME: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, 'lowercase letters, digits and "-", at most 63 characters'),
  KUBECONFIG: z.string().optional(),
  ...natsEnv,
  SCANNERS: list.pipe(z.array(ImageScannerSchema).min(1)).default(['vuln']),
  SEVERITIES: list.pipe(z.array(z.enum(SEVERITIES))),
  IGNORE_UNFIXED: bool(false),
  SKIP_FILES: list,
  SKIP_DIRS: list,
  IGNORE_FILE: fileContents,
  IGNORE_POLICY: fileContents,
  NAMESPACES_INCLUDE: list,
  NAMESPACES_EXCLUDE: list,
  TARGET_KINDS: list.pipe(z.array(z.enum(OWNER_KINDS as [string, ...string[]]))),
  SKIP_LABELS: list,
  EXCLUDE_IMAGES: list,
  SCAN_INIT_CONTAINERS: bool(true),
  SCAN_EPHEMERAL_CONTAINERS: bool(true),
  SCANNER_PUBLIC_KEY_FILE: fileContents,
  RESYNC_SECONDS: int(300, 1),
  REQUEST_RETRY_SECONDS: int(600, 1),
  REFRESH_BATCH_SIZE: int(100, 1),
  REFRESH_INTERVAL_SECONDS: z.coerce.number().positive().default(10),
  TAG_RECHECK_SECONDS: int(3600, 0),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type WatcherConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  const settings = {
    ...(c.SEVERITIES.length ? { severities: c.SEVERITIES } : {}),
    ...(c.IGNORE_UNFIXED ? { ignoreUnfixed: true } : {}),
    ...(c.SKIP_FILES.length ? { skipFiles: c.SKIP_FILES } : {}),
    ...(c.SKIP_DIRS.length ? { skipDirs: c.SKIP_DIRS } : {}),
    ...(c.IGNORE_FILE !== undefined ? { ignoreFile: c.IGNORE_FILE } : {}),
    ...(c.IGNORE_POLICY !== undefined ? { ignorePolicy: c.IGNORE_POLICY } : {}),
  };
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    nats: natsSettings(c),
    scanners: c.SCANNERS,
    settings,
    scope: {
      namespacesInclude: c.NAMESPACES_INCLUDE,
      namespacesExclude: c.NAMESPACES_EXCLUDE,
      kinds: c.TARGET_KINDS.length ? c.TARGET_KINDS : [...OWNER_KINDS],
      skipLabels: c.SKIP_LABELS,
      excludeImages: c.EXCLUDE_IMAGES,
      initContainers: c.SCAN_INIT_CONTAINERS,
      ephemeralContainers: c.SCAN_EPHEMERAL_CONTAINERS,
    },
    scannerPublicKey: c.SCANNER_PUBLIC_KEY_FILE,
    resyncMs: c.RESYNC_SECONDS * 1000,
    retryAfterMs: c.REQUEST_RETRY_SECONDS * 1000,
    refresh: { batchSize: c.REFRESH_BATCH_SIZE, intervalMs: c.REFRESH_INTERVAL_SECONDS * 1000 },
    tagRecheckMs: c.TAG_RECHECK_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}
