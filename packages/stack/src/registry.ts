import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { StackError, StackErrorCode } from './errors.ts';
import type { RegistryAuth } from './images/push.ts';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

export interface RegistryOptions {
  /** Holds the config, the htpasswd file, the log and the blob storage (`dir/data`). */
  dir: string;
  /** Turns on distribution's htpasswd (HTTP Basic) auth with this single user. */
  htpasswd?: RegistryAuth;
  /** Defaults to Debian's distribution 2.8 binary. */
  binary?: string;
  /** `htpasswd` from apache2-utils, used to write the bcrypt entry. */
  htpasswdBinary?: string;
  readyTimeoutMs?: number;
  /** See StartOptions.dieWithParent. */
  dieWithParent?: boolean;
}

export interface Registry {
  /** e.g. `http://127.0.0.1:5000` */
  url: string;
  /** e.g. `127.0.0.1:5000`, the prefix of image references. */
  host: string;
  logFile: string;
  /** The credentials when started with htpasswd, so clients can be handed the registry as is. */
  auth?: RegistryAuth;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const COMPONENT = 'registry';

export async function startRegistry(opts: RegistryOptions): Promise<Registry> {
  const binary = opts.binary ?? '/usr/bin/docker-registry';
  await requireExecutable(binary);
  const dataDir = join(opts.dir, 'data');
  await mkdir(dataDir, { recursive: true });

  let htpasswdPath: string | undefined;
  if (opts.htpasswd) {
    htpasswdPath = join(opts.dir, 'htpasswd');
    const entry = await bcryptEntry(opts.htpasswdBinary ?? '/usr/bin/htpasswd', opts.htpasswd);
    await writeFile(htpasswdPath, entry, { mode: 0o600 });
  }

  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const configFile = join(opts.dir, 'config.yml');
  await writeFile(configFile, registryConfig({ addr: host, dataDir, htpasswdPath }));

  const logFile = join(opts.dir, 'registry.log');
  const proc = startProcess({
    name: COMPONENT,
    command: binary,
    args: ['serve', configFile],
    logFile,
    cwd: opts.dir,
    // Distribution lets REGISTRY_* variables override the config file; a bare
    // environment keeps whatever the caller has set from leaking in.
    env: { PATH: '/usr/bin:/bin' },
    dieWithParent: opts.dieWithParent ?? false,
  });

  const url = `http://${host}`;
  const authorization = opts.htpasswd
    ? `Basic ${Buffer.from(`${opts.htpasswd.username}:${opts.htpasswd.password}`).toString('base64')}`
    : undefined;
  try {
    let status = 0;
    await waitReady(
      proc,
      async () => {
        status = await probe(url, authorization);
        // 401 still means the registry is up; a bad htpasswd entry is reported below, not waited out.
        return status === 200 || status === 401;
      },
      opts.readyTimeoutMs ?? 30_000,
    );
    if (status === 401) {
      throw new StackError(
        StackErrorCode.StartFailed,
        COMPONENT,
        'the generated htpasswd credentials were rejected',
        {
          logFile,
          output: await proc.tail(),
        },
      );
    }
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    url,
    host,
    logFile,
    ...(opts.htpasswd ? { auth: { ...opts.htpasswd } } : {}),
    process: proc,
    stop: () => proc.stop(),
  };
}

/** Pure: the distribution 2.8 config for a local, plain-HTTP, deletable registry. */
export function registryConfig(opts: {
  addr: string;
  dataDir: string;
  htpasswdPath?: string;
  secret?: string;
}): string {
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: opts.dataDir },
      delete: { enabled: true },
      // The purger would otherwise wake up and walk the storage dir in tests.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: opts.addr,
      // Signs upload-state tokens; without one distribution picks its own and
      // logs a warning on every start.
      secret: opts.secret ?? randomBytes(24).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
    ...(opts.htpasswdPath ? { auth: { htpasswd: { realm: 'fleetscan', path: opts.htpasswdPath } } } : {}),
  };
  return stringify(config);
}

/** The status of `GET /v2/`, or 0 when whatever answers is not a distribution registry. */
async function probe(url: string, authorization: string | undefined): Promise<number> {
  const res = await fetch(`${url}/v2/`, {
    headers: authorization ? { authorization } : {},
    signal: AbortSignal.timeout(2000),
  });
  await res.body?.cancel();
  // Guards against another service having grabbed the port in the meantime.
  if (res.headers.get('docker-distribution-api-version') !== 'registry/2.0') return 0;
  return res.status;
}

async function bcryptEntry(binary: string, auth: RegistryAuth): Promise<string> {
  await requireExecutable(binary);
  // Distribution only accepts bcrypt entries, hence -B.
  const { stdout } = await promisify(execFile)(binary, ['-Bbn', auth.username, auth.password]).catch(
    (cause: unknown) => {
      throw new StackError(
        StackErrorCode.StartFailed,
        COMPONENT,
        'htpasswd could not generate the password file',
        {
          cause,
        },
      );
    },
  );
  return `${stdout.trim()}\n`;
}

async function requireExecutable(path: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch (cause) {
    throw new StackError(
      StackErrorCode.MissingBinary,
      COMPONENT,
      `${path} is not installed or not executable`,
      {
        cause,
      },
    );
  }
}
