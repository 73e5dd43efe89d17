import { readFileSync } from 'node:fs';
import { natsEnv, natsSettings } from '@fleetscan/bus';
import { ConfigError, envVariables, envInt as int, opsEnv, parseEnv } from '@fleetscan/service';
import { z } from 'zod';

/**
 * Every variable the fleet view reads. Each one's `.describe()` is what `--help` and the README's
 * table say about it (`npm run docs`).
 */
const schema = z.object({
  // NATS_URL, this service's NATS credentials (its own read-only user, `fleetview`) and TLS.
  ...natsEnv,
  DB_PATH: z
    .string()
    .min(1)
    .default(':memory:')
    .describe(
      'SQLite file of the read model; :memory: (the default) rebuilds it from the fleet stream at every start, a file resumes where it stopped',
    ),
  API_HOST: z.string().default('127.0.0.1').describe('address of the HTTP API (/v1) and the page (/)'),
  API_PORT: int(8090).describe('port of the HTTP API and the page'),
  API_TOKEN_FILE: z
    .string()
    .optional()
    .describe('a file holding the bearer token every /v1 request must carry; unset: no token is asked for'),
  ...opsEnv,
});

/** What --help and the README say about each variable. */
export function configVariables() {
  return envVariables(schema);
}

export type FleetviewConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, readFile: (p: string) => string = readText) {
  const c = parseEnv(schema, env);
  return {
    nats: natsSettings(c),
    dbPath: c.DB_PATH,
    api: { host: c.API_HOST, port: c.API_PORT },
    token: c.API_TOKEN_FILE ? readToken(c.API_TOKEN_FILE, readFile) : undefined,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}

function readText(p: string): string {
  return readFileSync(p, 'utf8');
}

function readToken(path: string, readFile: (p: string) => string): string {
  let t: string;
  try {
    t = readFile(path).trim();
  } catch (err) {
    throw new ConfigError([
      { variable: 'API_TOKEN_FILE', message: `cannot read ${path}: ${(err as Error).message}` },
    ]);
  }
  if (t.length < 16) {
    throw new ConfigError([
      { variable: 'API_TOKEN_FILE', message: 'the token is shorter than 16 characters' },
    ]);
  }
  return t;
}
