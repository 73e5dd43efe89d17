import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { OidcCredentials } from './auth-provider.ts';
import { type ExecClusterInfo, type ExecCredential, runExecPlugin } from './exec-credential.ts';
import {
  type Auth,
  type ConnectionSpec,
  checkServer,
  configError,
  type Material,
} from './kubeconfig-file.ts';
import { chooseProxy, type ProxyEnv, redact } from './proxy.ts';
import { proxyAgent } from './proxy-agent.ts';

/**
 * How to reach one API server: its URL, the TLS and auth of each request, and one keep-alive
 * agent shared by every request made with it (lists, watches, writes), so a busy writer reuses
 * its TLS connections instead of opening one per call.
 */
export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** Where the configuration came from (a file and context, or the in-cluster service account), for messages. */
  readonly source: string;
  /** The context's namespace, if it names one. */
  readonly namespace: string | undefined;
  /** The proxy every request goes through (credentials removed), or undefined: direct. */
  readonly proxy: string | undefined;
  /** Keep-alive, no socket limit: long-lived watches never make other requests wait for a socket. */
  readonly agent: HttpAgent;
  /**
   * TLS material, the Authorization header and the agent for one request. Credentials that rotate
   * are current: token and certificate files are re-read at most once a minute, exec plugins re-run
   * when their credential expires.
   */
  requestOptions(): Promise<RequestOptions>;
  /** Forgets cached credentials (after a 401): the next request re-reads files and re-runs the exec plugin. */
  invalidate(): void;
  /** Closes the agent's sockets. For the owner of the connection, when it is done with it. */
  close(): void;
}

export interface ConnectionOptions {
  /** Environment of exec credential plugins (plus their configured env); process.env when omitted. */
  env?: Record<string, string | undefined>;
  /** Clock for credential expiry and file re-reads; Date.now when omitted. */
  now?: () => number;
  /** How long a token, CA or client certificate read from a file is used before it is read again. Default 60 000. */
  rereadMs?: number;
  /** An exec plugin that has not finished by then is killed. Default 60 000. */
  execTimeoutMs?: number;
  /**
   * The environment's proxy settings (proxyEnvFrom(env) in a service's config), used when the
   * kubeconfig's cluster sets no proxy-url. Omitted: no proxy from the environment.
   */
  proxy?: ProxyEnv | undefined;
  /** A proxy that has not answered CONNECT by then fails the request (TRANSIENT). Default 30 000. */
  proxyTunnelTimeoutMs?: number;
}

export const REREAD_MS = 60_000;

/** Builds a connection from a resolved spec. Files named by the spec are read now, so a missing one fails here. */
export function createKubeConnection(spec: ConnectionSpec, opts: ConnectionOptions = {}): KubeConnection {
  const now = opts.now ?? Date.now;
  const rereadMs = opts.rereadMs ?? REREAD_MS;
  const server = checkServer(spec.server, spec.source);
  const at = spec.source;
  const ca = spec.ca && source(spec.ca, `${at}: certificate authority`, now, rereadMs);
  const cert =
    spec.clientCertificate && source(spec.clientCertificate, `${at}: client certificate`, now, rereadMs);
  const key = spec.clientKey && source(spec.clientKey, `${at}: client key`, now, rereadMs);
  const tunnelTimeoutMs = opts.proxyTunnelTimeoutMs ?? 30_000;
  // Agents for other servers the credentials need (an OIDC issuer), one per origin, closed with us.
  const others = new Map<string, HttpAgent>();
  const agentFor = (url: URL): HttpAgent => {
    let a = others.get(url.origin);
    if (!a) {
      const via = chooseProxy(url.href, { env: opts.proxy }, `${at}: ${url.origin}`);
      a = via ? proxyAgent(url, via, { tunnelTimeoutMs }) : keepAliveAgent(url.href);
      others.set(url.origin, a);
    }
    return a;
  };
  const credentials = authSource(spec.auth ?? { kind: 'none' }, {
    agentFor,
    at,
    now,
    rereadMs,
    env: opts.env ?? process.env,
    execTimeoutMs: opts.execTimeoutMs ?? 60_000,
    cluster: async () => ({
      server,
      ...(spec.tlsServerName && { 'tls-server-name': spec.tlsServerName }),
      ...(spec.insecureSkipTLSVerify && { 'insecure-skip-tls-verify': true }),
      ...(ca && { 'certificate-authority-data': (await ca.get()).toString('base64') }),
    }),
  });
  const proxy = chooseProxy(server, { proxyUrl: spec.proxyUrl, env: opts.proxy }, at);
  const agent = proxy ? proxyAgent(new URL(server), proxy, { tunnelTimeoutMs }) : keepAliveAgent(server);

  return {
    server,
    source: spec.source,
    namespace: spec.namespace,
    proxy: proxy && redact(proxy),
    agent,
    async requestOptions() {
      const auth = await credentials.get();
      const o: RequestOptions = {
        agent,
        rejectUnauthorized: !spec.insecureSkipTLSVerify,
        headers: auth.authorization ? { authorization: auth.authorization } : {},
      };
      if (ca) o.ca = await ca.get();
      if (spec.tlsServerName) o.servername = spec.tlsServerName;
      // A certificate from the exec plugin replaces the kubeconfig's.
      if (auth.cert && auth.key) {
        o.cert = auth.cert;
        o.key = auth.key;
      } else if (cert && key) {
        o.cert = await cert.get();
        o.key = await key.get();
      }
      return o;
    },
    invalidate() {
      credentials.invalidate();
      for (const s of [ca, cert, key]) s?.invalidate();
    },
    close() {
      agent.destroy();
      for (const a of others.values()) a.destroy();
    },
  };
}

/**
 * One agent per connection: keep-alive, and no socket limit, so open watches never make other
 * requests wait. proxyEnv {}: direct means direct, even where Node would apply its own proxy rules
 * (NODE_USE_ENV_PROXY).
 */
export function keepAliveAgent(server: string): HttpAgent {
  const options = {
    keepAlive: true,
    maxSockets: Number.POSITIVE_INFINITY,
    scheduling: 'lifo' as const,
    proxyEnv: {},
  };
  return server.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options);
}

interface Cached<T> {
  get(): Promise<T>;
  invalidate(): void;
}

/**
 * Inline bytes, or a file read now (so a missing file fails at load, naming it) and re-read once
 * `rereadMs` has passed; a failed re-read keeps the last good content.
 */
function source(m: Material, what: string, now: () => number, rereadMs: number): Cached<Buffer> {
  if ('data' in m) return { get: async () => m.data, invalidate() {} };
  let value: Buffer;
  try {
    value = readFileSync(m.file);
  } catch (err) {
    throw configError(`${what} file ${m.file} cannot be read: ${(err as Error).message}`, err);
  }
  if (value.length === 0) throw configError(`${what} file ${m.file} is empty`);
  let readAt = now();
  let pending: Promise<Buffer> | undefined;
  return {
    get() {
      if (now() - readAt < rereadMs) return Promise.resolve(value);
      pending ??= readFile(m.file)
        .then(
          (b) => {
            if (b.length > 0) value = b;
          },
          () => {},
        )
        .then(() => {
          readAt = now();
          pending = undefined;
          return value;
        });
      return pending;
    },
    invalidate() {
      readAt = Number.NEGATIVE_INFINITY;
    },
  };
}

interface AuthState {
  authorization?: string;
  cert?: Buffer;
  key?: Buffer;
}

function authSource(
  auth: Auth,
  ctx: {
    at: string;
    now: () => number;
    rereadMs: number;
    env: Record<string, string | undefined>;
    execTimeoutMs: number;
    cluster: () => Promise<ExecClusterInfo>;
    /** A keep-alive agent for another server (an OIDC issuer), through the environment's proxy where it applies. */
    agentFor: (url: URL) => HttpAgent;
  },
): Cached<AuthState> {
  switch (auth.kind) {
    case 'oidc': {
      // openid-client, through this import only: users of other credentials never load it.
      let loading: Promise<OidcCredentials> | undefined;
      let oidc: OidcCredentials | undefined;
      return {
        async get() {
          loading ??= import('./auth-provider.ts').then((m) => {
            oidc = m.createOidcCredentials({
              config: auth.config,
              at: ctx.at,
              now: ctx.now,
              agent: ctx.agentFor,
            });
            return oidc;
          });
          return { authorization: await (await loading).authorization() };
        },
        invalidate() {
          oidc?.invalidate();
        },
      };
    }
    case 'none':
      return { get: async () => ({}), invalidate() {} };
    case 'basic': {
      const state = {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      };
      return { get: async () => state, invalidate() {} };
    }
    case 'token': {
      // A token file wins over an inline token, and is re-read: projected tokens rotate.
      if (!auth.tokenFile) {
        const state = { authorization: `Bearer ${auth.token}` };
        return { get: async () => state, invalidate() {} };
      }
      const file = source({ file: auth.tokenFile }, `${ctx.at}: token`, ctx.now, ctx.rereadMs);
      return {
        get: async () => ({ authorization: `Bearer ${(await file.get()).toString('utf8').trim()}` }),
        invalidate: () => file.invalidate(),
      };
    }
    case 'exec': {
      let current: ExecCredential | undefined;
      let pending: Promise<ExecCredential> | undefined;
      const valid = (c: ExecCredential | undefined): c is ExecCredential =>
        c !== undefined && (c.expiresAt === undefined || ctx.now() < c.expiresAt);
      return {
        async get() {
          if (!valid(current)) {
            pending ??= (async () =>
              runExecPlugin(auth.exec, {
                env: ctx.env,
                cluster: {
                  ...(await ctx.cluster()),
                  ...(auth.exec.clusterConfig !== undefined && { config: auth.exec.clusterConfig }),
                },
                timeoutMs: ctx.execTimeoutMs,
              }))().finally(() => {
              pending = undefined;
            });
            current = await pending;
          }
          return {
            ...(current.token && { authorization: `Bearer ${current.token}` }),
            ...(current.cert && { cert: current.cert }),
            ...(current.key && { key: current.key }),
          };
        },
        invalidate() {
          current = undefined;
        },
      };
    }
  }
}
