import { type ClientRequest, type ClientRequestArgs, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, isIPv6, connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, type SecureContextOptions, connect as tlsConnect } from 'node:tls';
import { KubeError, KubeErrorCode } from './errors.ts';
import { redact } from './proxy.ts';

export interface ProxyAgentOptions {
  /** A proxy that has not answered CONNECT by then is given up on (TRANSIENT). */
  tunnelTimeoutMs: number;
}

/** The answer to CONNECT is a status line and headers; anything longer is not an HTTP proxy. */
const MAX_CONNECT_RESPONSE = 16 * 1024;

/**
 * As keepAliveAgent's. proxyEnv {}: our proxy decision is the only one, even where Node would
 * apply its own (NODE_USE_ENV_PROXY, which has different NO_PROXY rules).
 */
const AGENT_OPTIONS = {
  keepAlive: true,
  maxSockets: Number.POSITIVE_INFINITY,
  scheduling: 'lifo' as const,
  proxyEnv: {},
};

/**
 * A keep-alive agent that reaches `server` through `proxy` the way Go's Transport does: an
 * https:// server through a CONNECT tunnel (TLS to the API server inside it, verified as without a
 * proxy), an http:// server with absolute-form requests to the proxy. Credentials in the proxy URL
 * become a Basic Proxy-Authorization header. An https:// proxy is verified with the cluster's TLS
 * trust (its CA, or the system's when the kubeconfig names none), as Go's Transport does.
 */
export function proxyAgent(server: URL, proxy: URL, opts: ProxyAgentOptions): HttpAgent {
  const authorization = proxyAuthorization(proxy);
  if (server.protocol === 'https:') {
    return new TunnelAgent(proxy, authorization, opts.tunnelTimeoutMs);
  }
  return new ForwardAgent(proxy, authorization);
}

class TunnelAgent extends HttpsAgent {
  readonly #proxy: URL;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;

  constructor(proxy: URL, authorization: string | undefined, timeoutMs: number) {
    super(AGENT_OPTIONS);
    this.#proxy = proxy;
    this.#authorization = authorization;
    this.#timeoutMs = timeoutMs;
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const tls = options as ClientRequestArgs & SecureContextOptions & { rejectUnauthorized?: boolean };
    const host = options.host ?? 'localhost';
    const target = `${isIPv6(host) ? `[${host}]` : host}:${options.port ?? 443}`;
    openTunnel(this.#proxy, target, {
      authorization: this.#authorization,
      timeoutMs: this.#timeoutMs,
      ca: tls.ca,
      rejectUnauthorized: tls.rejectUnauthorized,
    }).then(
      // TLS with the API server inside the tunnel, with this request's options (CA, client
      // certificate, server name): the proxy only sees ciphertext.
      (socket) => callback?.(null, tlsConnect({ ...tls, socket } as ConnectionOptions)),
      (err: unknown) => callback?.(err as Error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

class ForwardAgent extends HttpAgent {
  readonly #proxy: URL;
  readonly #authorization: string | undefined;

  constructor(proxy: URL, authorization: string | undefined) {
    super(AGENT_OPTIONS);
    this.#proxy = proxy;
    this.#authorization = authorization;
  }

  /**
   * Node's hook between a request and its socket (not in its typings, relied on by every proxy
   * agent on npm): the request line becomes absolute-form and the socket pool is the proxy's.
   */
  addRequest(req: ClientRequest, options: ClientRequestArgs): void {
    const host = options.host ?? 'localhost';
    const port = options.port ?? 80;
    const authority = `${isIPv6(host) ? `[${host}]` : host}${Number(port) === 80 ? '' : `:${port}`}`;
    req.path = `http://${authority}${req.path}`;
    if (this.#authorization) req.setHeader('proxy-authorization', this.#authorization);
    const proxyOptions = { ...options, host: proxyHost(this.#proxy), port: proxyPort(this.#proxy) };
    (
      HttpAgent.prototype as unknown as { addRequest(r: ClientRequest, o: ClientRequestArgs): void }
    ).addRequest.call(this, req, proxyOptions);
  }

  override createConnection(options: ClientRequestArgs): Duplex {
    return dialProxy(this.#proxy, options as SecureContextOptions & { rejectUnauthorized?: boolean });
  }
}

function dialProxy(
  proxy: URL,
  tls: { ca?: SecureContextOptions['ca']; rejectUnauthorized?: boolean },
): Socket {
  const host = proxyHost(proxy);
  const port = proxyPort(proxy);
  if (proxy.protocol !== 'https:') return netConnect({ host, port });
  return tlsConnect({
    host,
    port,
    ...(isIP(host) ? {} : { servername: host }),
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.rejectUnauthorized !== undefined && { rejectUnauthorized: tls.rejectUnauthorized }),
  });
}

/**
 * Opens a TCP (or TLS, for an https:// proxy) connection to the proxy and asks it for a tunnel to
 * `target` (host:port). Resolves with the socket once the proxy answered 200; a refusal, a silence
 * longer than `timeoutMs` or a dropped connection is a TRANSIENT KubeError saying which.
 */
function openTunnel(
  proxy: URL,
  target: string,
  opts: {
    authorization: string | undefined;
    timeoutMs: number;
    ca?: SecureContextOptions['ca'];
    rejectUnauthorized?: boolean | undefined;
  },
): Promise<Socket> {
  const via = redact(proxy);
  return new Promise<Socket>((resolve, reject) => {
    const socket = dialProxy(proxy, {
      ...(opts.ca !== undefined && { ca: opts.ca }),
      ...(opts.rejectUnauthorized !== undefined && { rejectUnauthorized: opts.rejectUnauthorized }),
    });
    let head = Buffer.alloc(0);
    const done = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.setTimeout(0);
    };
    const fail = (err: Error) => {
      done();
      socket.destroy();
      reject(err);
    };
    const transient = (message: string, cause?: unknown) =>
      new KubeError(
        KubeErrorCode.Transient,
        `proxy ${via}: ${message}`,
        cause === undefined ? {} : { cause },
      );
    const onError = (err: NodeJS.ErrnoException) =>
      fail(transient(`${err.code ? `${err.code}: ` : ''}${err.message}`, err));
    const onClose = () => fail(transient(`closed the connection before answering CONNECT ${target}`));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_CONNECT_RESPONSE)
          fail(transient(`answered CONNECT ${target} with no HTTP response`));
        return;
      }
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      // Go accepts exactly 200 (not any 2xx) as an established tunnel.
      if (!/^HTTP\/1\.[01] 200(?: |$)/.test(status)) {
        fail(transient(`refused CONNECT ${target}: ${status.slice(0, 200)}`));
        return;
      }
      done();
      // The server speaks only after our TLS hello, so nothing should follow the header; keep it if it does.
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.setTimeout(opts.timeoutMs, () =>
      fail(transient(`no answer to CONNECT ${target} within ${opts.timeoutMs} ms`)),
    );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.write(
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n` +
          (opts.authorization ? `Proxy-Authorization: ${opts.authorization}\r\n` : '') +
          '\r\n',
      );
    });
  });
}

/** Basic credentials from the proxy URL's user info (percent-decoded), as Go sends them. */
function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

function proxyHost(proxy: URL): string {
  const h = proxy.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function proxyPort(proxy: URL): number {
  return proxy.port ? Number(proxy.port) : proxy.protocol === 'https:' ? 443 : 80;
}
