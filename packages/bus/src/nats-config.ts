import { accessSync, constants } from 'node:fs';
import { ConfigError } from '@fleetscan/service';
import { z } from 'zod';
import type { NatsAuth, NatsTls } from './connect.ts';
import { CLUSTER_NAME_PATTERN } from './subjects.ts';

/** A path that must be readable now; its contents are read when a connection is made, so a rotated file is used. */
const readableFile = z
  .string()
  .min(1)
  .optional()
  .superRefine((p, ctx) => {
    if (p === undefined) return;
    try {
      accessSync(p, constants.R_OK);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${p}: ${(err as NodeJS.ErrnoException).code}` });
    }
  });

/**
 * The NATS variables every service reads (spread into its own schema). Credentials come from files
 * (a mounted Secret) or the environment, never from arguments: one of NATS_CREDS_FILE (a user JWT
 * and its seed, decentralized auth), NATS_NKEY_FILE (an nkey seed), or NATS_USER with
 * NATS_PASSWORD_FILE / NATS_PASSWORD.
 */
export const natsEnv = {
  /** One URL, or several separated by commas (the nodes of a NATS cluster). */
  NATS_URL: z
    .string()
    .min(1)
    .default('nats://127.0.0.1:4222')
    .describe('NATS server; several (the nodes of a NATS cluster) separated by commas'),
  NATS_CREDS_FILE: readableFile.describe(
    "a NATS credentials file (user JWT and nkey seed) of this service's own user",
  ),
  NATS_NKEY_FILE: readableFile.describe("an nkey seed file of this service's own NATS user"),
  NATS_USER: z
    .string()
    .min(1)
    .optional()
    .describe("this service's own NATS user, with NATS_PASSWORD_FILE or NATS_PASSWORD"),
  NATS_PASSWORD: z.string().optional().describe('its password (from a Secret); prefer NATS_PASSWORD_FILE'),
  NATS_PASSWORD_FILE: readableFile.describe('a file holding its password'),
  NATS_TLS_CA_FILE: readableFile.describe(
    "PEM CA that signed the NATS server's certificate; set, TLS is required",
  ),
  NATS_TLS_CERT_FILE: readableFile.describe(
    'PEM client certificate, for a NATS that verifies clients (with NATS_TLS_KEY_FILE)',
  ),
  NATS_TLS_KEY_FILE: readableFile.describe('PEM key of NATS_TLS_CERT_FILE'),
};

/** The variable of a service that belongs to one cluster (watcher, writer): its name in subjects. */
export const clusterEnv = {
  CLUSTER_NAME: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, 'lowercase letters, digits and "-", at most 63 characters')
    .describe("this cluster's name in subjects: lowercase letters, digits and '-', at most 63 characters"),
};

type NatsEnv = z.output<z.ZodObject<typeof natsEnv>>;

export interface NatsSettings {
  servers: string[];
  auth?: NatsAuth;
  tls?: NatsTls;
}

/** The connection settings from the parsed variables; contradictory ones fail with their names. */
export function natsSettings(c: NatsEnv): NatsSettings {
  const problems: { variable: string; message: string }[] = [];
  const ways = [
    c.NATS_CREDS_FILE && 'NATS_CREDS_FILE',
    c.NATS_NKEY_FILE && 'NATS_NKEY_FILE',
    c.NATS_USER && 'NATS_USER',
  ].filter(Boolean);
  if (ways.length > 1) {
    problems.push({
      variable: String(ways[1]),
      message: `set one way to authenticate, not ${ways.join(' and ')}`,
    });
  }
  if ((c.NATS_PASSWORD !== undefined || c.NATS_PASSWORD_FILE) && !c.NATS_USER) {
    problems.push({ variable: 'NATS_USER', message: 'required with NATS_PASSWORD or NATS_PASSWORD_FILE' });
  }
  if (c.NATS_PASSWORD !== undefined && c.NATS_PASSWORD_FILE) {
    problems.push({
      variable: 'NATS_PASSWORD_FILE',
      message: 'set NATS_PASSWORD or NATS_PASSWORD_FILE, not both',
    });
  }
  if (Boolean(c.NATS_TLS_CERT_FILE) !== Boolean(c.NATS_TLS_KEY_FILE)) {
    problems.push({
      variable: 'NATS_TLS_KEY_FILE',
      message: 'NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together',
    });
  }
  const servers = c.NATS_URL.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) problems.push({ variable: 'NATS_URL', message: 'no server URL' });
  if (problems.length) throw new ConfigError(problems);

  let auth: NatsAuth | undefined;
  if (c.NATS_CREDS_FILE) auth = { kind: 'creds', file: c.NATS_CREDS_FILE };
  else if (c.NATS_NKEY_FILE) auth = { kind: 'nkey', file: c.NATS_NKEY_FILE };
  else if (c.NATS_USER) {
    auth = c.NATS_PASSWORD_FILE
      ? { kind: 'password', user: c.NATS_USER, passwordFile: c.NATS_PASSWORD_FILE }
      : { kind: 'password', user: c.NATS_USER, password: c.NATS_PASSWORD ?? '' };
  }
  const tls: NatsTls | undefined =
    c.NATS_TLS_CA_FILE || c.NATS_TLS_CERT_FILE
      ? {
          ...(c.NATS_TLS_CA_FILE && { caFile: c.NATS_TLS_CA_FILE }),
          ...(c.NATS_TLS_CERT_FILE && { certFile: c.NATS_TLS_CERT_FILE, keyFile: c.NATS_TLS_KEY_FILE }),
        }
      : undefined;
  return { servers, ...(auth && { auth }), ...(tls && { tls }) };
}
