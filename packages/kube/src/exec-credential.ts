import { spawn } from 'node:child_process';
import { configError, type ExecConfig } from './kubeconfig-file.ts';

/** What an exec credential plugin returned: a bearer token, a client certificate, or both. */
export interface ExecCredential {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Epoch ms from status.expirationTimestamp; absent: valid until the server says otherwise (401). */
  expiresAt?: number;
}

/** spec.cluster of KUBERNETES_EXEC_INFO, for plugins with provideClusterInfo. */
export interface ExecClusterInfo {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'certificate-authority-data'?: string;
  config?: unknown;
}

const MAX_OUTPUT = 1024 * 1024;

/**
 * Runs a client.authentication.k8s.io exec plugin the way kubectl does, non-interactively: the
 * parent environment plus the configured env, KUBERNETES_EXEC_INFO describing the request, stdin
 * closed. Its stdout must be an ExecCredential of the configured apiVersion.
 */
export async function runExecPlugin(
  exec: ExecConfig,
  opts: { env: Record<string, string | undefined>; cluster?: ExecClusterInfo; timeoutMs: number },
): Promise<ExecCredential> {
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false, ...(exec.provideClusterInfo && opts.cluster && { cluster: opts.cluster }) },
  };
  const env: Record<string, string | undefined> = { ...opts.env };
  for (const { name, value } of exec.env) env[name] = value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify(info);
  const what = `exec credential plugin "${exec.command}"`;

  const { code, signal, stdout, stderr, error } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    error?: Error;
  }>((resolve) => {
    const child = spawn(exec.command, exec.args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let spawnError: Error | undefined;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_OUTPUT) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (err.length > 64) err.shift();
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8').trim().slice(-500),
        ...(spawnError && { error: spawnError }),
      }),
    );
  });

  if (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw configError(`${what} not found${exec.installHint ? `: ${exec.installHint.trim()}` : ''}`, error);
    }
    throw configError(`${what} could not be started: ${error.message}`, error);
  }
  if (signal === 'SIGKILL') throw configError(`${what} did not finish within ${opts.timeoutMs} ms`);
  if (code !== 0) {
    throw configError(`${what} failed (${signal ?? `exit ${code}`})${stderr ? `: ${stderr}` : ''}`);
  }
  return parseExecCredential(stdout, exec.apiVersion, what);
}

export function parseExecCredential(stdout: string, apiVersion: string, what: string): ExecCredential {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err) {
    throw configError(`${what} printed something that is not JSON`, err);
  }
  const d = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    status?: {
      token?: unknown;
      clientCertificateData?: unknown;
      clientKeyData?: unknown;
      expirationTimestamp?: unknown;
    };
  };
  if (d?.kind !== 'ExecCredential') throw configError(`${what} printed no ExecCredential`);
  if (d.apiVersion !== apiVersion) {
    throw configError(
      `${what} answered with apiVersion "${String(d.apiVersion)}", configured is "${apiVersion}"`,
    );
  }
  const s = d.status;
  if (typeof s !== 'object' || s === null)
    throw configError(`${what} printed an ExecCredential without status`);
  const out: ExecCredential = {};
  if (typeof s.token === 'string' && s.token) out.token = s.token;
  const cert = typeof s.clientCertificateData === 'string' && s.clientCertificateData;
  const key = typeof s.clientKeyData === 'string' && s.clientKeyData;
  if (Boolean(cert) !== Boolean(key)) {
    throw configError(`${what}: clientCertificateData and clientKeyData must come together`);
  }
  if (cert && key) {
    out.cert = Buffer.from(cert);
    out.key = Buffer.from(key);
  }
  if (!out.token && !out.cert) throw configError(`${what} returned neither a token nor a client certificate`);
  if (s.expirationTimestamp !== undefined && s.expirationTimestamp !== null) {
    const at = typeof s.expirationTimestamp === 'string' ? Date.parse(s.expirationTimestamp) : Number.NaN;
    if (Number.isNaN(at)) {
      throw configError(`${what}: expirationTimestamp "${String(s.expirationTimestamp)}" is not a timestamp`);
    }
    out.expiresAt = at;
  }
  return out;
}
