import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { KubeError, KubeErrorCode } from './errors.ts';

/**
 * Kubeconfig files as kubectl reads them: YAML (or JSON), merged first-wins across a $KUBECONFIG
 * list, relative paths resolved against the directory of the file that names them. Only what a
 * connection needs is kept; what fleetscan cannot honour is refused here, at load, by name.
 */

type Raw = Record<string, unknown>;

/** A named entry with the file it came from (for relative paths and messages). */
interface Entry {
  name: string;
  value: Raw;
  file: string;
}

export interface KubeconfigFiles {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext: string | undefined;
  /** The files that existed and were read, in order. */
  files: string[];
}

/**
 * Reads and merges kubeconfig files with kubectl's rules: a cluster, user or context name is
 * taken from the first file that defines it, and so is current-context. A listed file that
 * does not exist is skipped when `skipMissing` (a $KUBECONFIG list); one that exists but cannot
 * be read or parsed is an error naming it.
 */
export function readKubeconfigFiles(paths: readonly string[], skipMissing: boolean): KubeconfigFiles {
  const out: KubeconfigFiles = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
    files: [],
  };
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (skipMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw configError(`cannot read kubeconfig file ${path}: ${(err as Error).message}`, err);
    }
    let doc: unknown;
    try {
      // YAML 1.2: `y`, `no`, `on` stay strings, as they do for kubectl's string fields; the
      // YAML 1.1 spellings are accepted where kubectl expects a boolean (see bool()).
      doc = parse(text, { uniqueKeys: false }) ?? {};
    } catch (err) {
      throw configError(`kubeconfig file ${path} is not valid YAML: ${(err as Error).message}`, err);
    }
    if (!isObject(doc)) throw configError(`kubeconfig file ${path}: expected a mapping at the top level`);
    out.files.push(path);
    mergeList(out.clusters, doc, 'clusters', 'cluster', path);
    mergeList(out.users, doc, 'users', 'user', path);
    mergeList(out.contexts, doc, 'contexts', 'context', path);
    out.currentContext ??= str(doc, 'current-context', `kubeconfig file ${path}`);
  }
  return out;
}

function mergeList(into: Map<string, Entry>, doc: Raw, key: string, inner: string, file: string): void {
  const list = doc[key];
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw configError(`kubeconfig file ${file}: ${key} must be a list`);
  for (const [i, item] of list.entries()) {
    const name = isObject(item) ? str(item, 'name', `kubeconfig file ${file}: ${key}[${i}]`) : undefined;
    if (!isObject(item) || !name) throw configError(`kubeconfig file ${file}: ${key}[${i}] needs a name`);
    const value = item[inner] ?? {};
    if (!isObject(value))
      throw configError(`kubeconfig file ${file}: ${key}[${i}].${inner} must be a mapping`);
    if (!into.has(name)) into.set(name, { name, value, file });
  }
}

/** Bytes given inline (base64 `-data`) or by a file that is re-read when it may have rotated. */
export type Material = { data: Buffer } | { file: string };

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  provideClusterInfo: boolean;
  installHint: string | undefined;
  /** The kubeconfig's cluster extension `client.authentication.k8s.io/exec`, passed on as spec.cluster.config. */
  clusterConfig: unknown;
}

export type Auth =
  | { kind: 'none' }
  | { kind: 'token'; token: string | undefined; tokenFile: string | undefined }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'exec'; exec: ExecConfig }
  /** An `auth-provider` named oidc: its config (client-id, idp-issuer-url, id-token, refresh-token, ...). */
  | { kind: 'oidc'; config: Record<string, string> };

/** One context of a kubeconfig, resolved into what a connection needs. */
export interface ConnectionSpec {
  server: string;
  /** Where it came from, for messages: a file and context, or the in-cluster service account. */
  source: string;
  namespace?: string | undefined;
  ca?: Material | undefined;
  insecureSkipTLSVerify?: boolean | undefined;
  tlsServerName?: string | undefined;
  /** The cluster's proxy-url: every request goes through it (the environment's proxy settings do not apply). */
  proxyUrl?: string | undefined;
  clientCertificate?: Material | undefined;
  clientKey?: Material | undefined;
  auth?: Auth | undefined;
}

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** The current context (or `context`) of merged files, checked and with its paths resolved. */
export function resolveContext(files: KubeconfigFiles, source: string, context?: string): ConnectionSpec {
  const name = context ?? files.currentContext;
  if (!name) throw configError(`${source}: no current context or cluster (current-context is not set)`);
  const ctx = files.contexts.get(name);
  if (!ctx) throw configError(`${source}: no current context or cluster (context "${name}" is not defined)`);
  const at = `${source}, context "${name}"`;
  const clusterName = str(ctx.value, 'cluster', at);
  if (!clusterName) throw configError(`${at}: no current context or cluster (the context names no cluster)`);
  const cluster = files.clusters.get(clusterName);
  if (!cluster) throw configError(`${at}: cluster "${clusterName}" is not defined`);
  const userName = str(ctx.value, 'user', at);
  const user = userName ? files.users.get(userName) : undefined;
  if (userName && !user) throw configError(`${at}: user "${userName}" is not defined`);
  const namespace = str(ctx.value, 'namespace', at);
  const { clusterConfig, ...clusterPart } = clusterSpec(cluster, `${at}, cluster "${clusterName}"`);
  const userPart = user ? userSpec(user, `${at}, user "${userName}"`) : {};
  if (userPart.auth?.kind === 'exec') userPart.auth.exec.clusterConfig = clusterConfig;
  return { source: at, ...(namespace && { namespace }), ...clusterPart, ...userPart };
}

function clusterSpec(
  e: Entry,
  at: string,
): Pick<ConnectionSpec, 'server' | 'ca' | 'insecureSkipTLSVerify' | 'tlsServerName' | 'proxyUrl'> & {
  clusterConfig: unknown;
} {
  const c = e.value;
  const server = checkServer(str(c, 'server', at), at);
  const proxyUrl = str(c, 'proxy-url', at);
  const insecure = bool(c, 'insecure-skip-tls-verify', at);
  const ca = material(e, 'certificate-authority', at);
  if (insecure && ca) {
    throw configError(`${at}: insecure-skip-tls-verify and a certificate authority cannot both be set`);
  }
  const tlsServerName = str(c, 'tls-server-name', at);
  const extensions = c.extensions;
  const execExt = Array.isArray(extensions)
    ? (extensions as Raw[]).find((x) => isObject(x) && x.name === 'client.authentication.k8s.io/exec')
    : undefined;
  return {
    server,
    ...(ca && { ca }),
    ...(insecure && { insecureSkipTLSVerify: true }),
    ...(tlsServerName && { tlsServerName }),
    ...(proxyUrl && { proxyUrl }),
    clusterConfig: execExt?.extension,
  };
}

function userSpec(e: Entry, at: string): Pick<ConnectionSpec, 'auth' | 'clientCertificate' | 'clientKey'> {
  const u = e.value;
  const provider = authProvider(e, at);
  for (const key of ['as', 'as-uid', 'as-groups', 'as-user-extra']) {
    if (u[key] !== undefined) {
      throw configError(
        `${at}: impersonation (${key}) is not supported; give the service credentials of its own`,
      );
    }
  }
  const token = str(u, 'token', at);
  const tokenFile = path(e, 'tokenFile', at);
  const username = str(u, 'username', at);
  const password = str(u, 'password', at);
  const exec = u.exec === undefined || u.exec === null ? undefined : execConfig(e, at);
  const methods = [
    ...(token || tokenFile ? ['token'] : []),
    ...(username || password ? ['basic auth (username/password)'] : []),
    ...(exec ? ['exec'] : []),
    ...(provider ? ['auth-provider (oidc)'] : []),
  ];
  if (methods.length > 1) {
    throw configError(`${at}: more than one authentication method (${methods.join(', ')}); keep one`);
  }
  if ((username || password) && !(username && password)) {
    throw configError(`${at}: basic auth needs both username and password`);
  }
  const clientCertificate = material(e, 'client-certificate', at);
  const clientKey = material(e, 'client-key', at);
  if (Boolean(clientCertificate) !== Boolean(clientKey)) {
    throw configError(`${at}: client-certificate and client-key must be given together`);
  }
  let auth: Auth = { kind: 'none' };
  if (token || tokenFile) auth = { kind: 'token', token, tokenFile };
  else if (username && password) auth = { kind: 'basic', username, password };
  else if (exec) auth = { kind: 'exec', exec };
  else if (provider) auth = provider;
  return { auth, ...(clientCertificate && { clientCertificate }), ...(clientKey && { clientKey }) };
}

/**
 * client-go's one remaining auth-provider, oidc (azure and gcp were removed in Kubernetes 1.26 in
 * favour of exec plugins), checked as client-go checks it: client-id and idp-issuer-url are required.
 */
function authProvider(e: Entry, at: string): Extract<Auth, { kind: 'oidc' }> | undefined {
  const p = e.value['auth-provider'];
  if (p === undefined || p === null) return undefined;
  const name = isObject(p) ? str(p, 'name', `${at}, auth-provider`) : undefined;
  if (name !== 'oidc') {
    throw configError(
      `${at}: auth-provider${name ? ` "${name}"` : ''} is not supported (only oidc is); use an exec credential plugin instead (e.g. kubelogin, gke-gcloud-auth-plugin, aws eks get-token)`,
    );
  }
  const where = `${at}, auth-provider "oidc"`;
  const config = (p as Raw).config ?? {};
  if (!isObject(config) || !Object.values(config).every((v) => typeof v === 'string')) {
    throw configError(`${where}: config must be a mapping of strings`);
  }
  const c = config as Record<string, string>;
  for (const key of ['client-id', 'idp-issuer-url']) {
    if (!c[key]) throw configError(`${where}: ${key} is required`);
  }
  try {
    new URL(c['idp-issuer-url'] ?? '');
  } catch (err) {
    throw configError(`${where}: idp-issuer-url "${c['idp-issuer-url']}" is not a URL`, err);
  }
  // The IdP's CA is read now, so a missing file fails at load like the kubeconfig's others; a
  // relative path is the kubeconfig's, like theirs (client-go takes it from the working directory,
  // which for a service is arbitrary).
  const { 'idp-certificate-authority': caFile, ...rest } = c;
  if (!caFile || c['idp-certificate-authority-data']) return { kind: 'oidc', config: rest };
  const file = resolve(dirname(e.file), caFile);
  let ca: Buffer;
  try {
    ca = readFileSync(file);
  } catch (err) {
    throw configError(
      `${where}: idp-certificate-authority ${file} cannot be read: ${(err as Error).message}`,
      err,
    );
  }
  return { kind: 'oidc', config: { ...rest, 'idp-certificate-authority-data': ca.toString('base64') } };
}

function execConfig(e: Entry, at: string): ExecConfig {
  const x = e.value.exec;
  if (!isObject(x)) throw configError(`${at}: exec must be a mapping`);
  const where = `${at}, exec`;
  const apiVersion = str(x, 'apiVersion', where);
  if (!apiVersion || !EXEC_API_VERSIONS.includes(apiVersion)) {
    throw configError(
      `${where}: apiVersion "${apiVersion ?? ''}" is not supported; use ${EXEC_API_VERSIONS.join(' or ')}`,
    );
  }
  let command = str(x, 'command', where);
  if (!command) throw configError(`${where}: command is required`);
  // kubectl's rule: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up in PATH.
  if (command.includes('/') && !isAbsolute(command)) command = resolve(dirname(e.file), command);
  const args = x.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw configError(`${where}: args must be a list of strings`);
  }
  const env = x.env ?? [];
  if (
    !Array.isArray(env) ||
    !env.every((v) => isObject(v) && typeof v.name === 'string' && typeof v.value === 'string')
  ) {
    throw configError(`${where}: env must be a list of {name, value} strings`);
  }
  if (x.interactiveMode === 'Always') {
    throw configError(
      `${where}: interactiveMode Always needs a terminal and the service has none; use a plugin that runs non-interactively`,
    );
  }
  return {
    apiVersion,
    command,
    args,
    env: env as { name: string; value: string }[],
    provideClusterInfo: bool(x, 'provideClusterInfo', where) ?? false,
    installHint: str(x, 'installHint', where),
    clusterConfig: undefined,
  };
}

/** `<key>-data` (base64) wins over `<key>` (a file, relative to the kubeconfig's directory), as in kubectl. */
function material(e: Entry, key: string, at: string): Material | undefined {
  const data = str(e.value, `${key}-data`, at);
  if (data) {
    const buf = Buffer.from(data, 'base64');
    if (buf.length === 0) throw configError(`${at}: ${key}-data is not base64`);
    return { data: buf };
  }
  const file = path(e, key, at);
  return file ? { file } : undefined;
}

function path(e: Entry, key: string, at: string): string | undefined {
  const p = str(e.value, key, at);
  return p ? resolve(dirname(e.file), p) : undefined;
}

export function checkServer(server: string | undefined, at: string): string {
  if (!server) throw configError(`${at}: the cluster has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch (err) {
    throw configError(`${at}: invalid server URL "${server}"`, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`${at}: server URL "${server}" must be https:// or http://`);
  }
  if (!url.hostname || url.hostname === 'undefined') {
    throw configError(`${at}: server URL "${server}" has no host`);
  }
  return server.replace(/\/+$/, '');
}

/** A string field; a plain number or boolean is taken as its text, as kubectl's typed parsing does. */
function str(o: Raw, key: string, at: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') throw configError(`${at}: ${key} must be a string`);
  return v;
}

const YAML11_BOOL: Record<string, boolean> = {
  yes: true,
  y: true,
  on: true,
  no: false,
  n: false,
  off: false,
};

function bool(o: Raw, key: string, at: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  const b = typeof v === 'string' ? YAML11_BOOL[v.toLowerCase()] : undefined;
  if (b === undefined) throw configError(`${at}: ${key} must be true or false`);
  return b;
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function configError(message: string, cause?: unknown): KubeError {
  return new KubeError(KubeErrorCode.Config, message, cause === undefined ? {} : { cause });
}
