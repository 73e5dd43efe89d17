import { configError } from './kubeconfig-file.ts';
import { useProxy } from './no-proxy.ts';

/**
 * The proxy variables of an environment, read the way Go's httpproxy.FromEnvironment reads them
 * (client-go's default): the upper-case name first, an empty value counts as unset. A service's
 * config reads them once (proxyEnvFrom) and passes them in; this package never reads process.env
 * for them.
 */
export interface ProxyEnv {
  /** HTTP_PROXY / http_proxy: for http:// API servers. */
  httpProxy?: string | undefined;
  /** HTTPS_PROXY / https_proxy: for https:// API servers. */
  httpsProxy?: string | undefined;
  /** NO_PROXY / no_proxy: hosts reached directly (see useProxy). */
  noProxy?: string | undefined;
  /** REQUEST_METHOD is set: a CGI environment, where HTTP_PROXY may come from a request header. */
  cgi?: boolean | undefined;
}

export function proxyEnvFrom(env: Record<string, string | undefined>): ProxyEnv {
  const any = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  return {
    httpProxy: any('HTTP_PROXY', 'http_proxy'),
    httpsProxy: any('HTTPS_PROXY', 'https_proxy'),
    noProxy: any('NO_PROXY', 'no_proxy'),
    cgi: Boolean(env.REQUEST_METHOD),
  };
}

/**
 * The proxy for requests to `server`, as client-go decides: the cluster's `proxy-url` when the
 * kubeconfig sets one (for every host, loopback included, NO_PROXY not consulted); else the
 * environment's proxy for the server's scheme unless NO_PROXY (or the host being localhost or a
 * loopback address) says to go direct. Undefined: connect directly.
 *
 * Unlike Go, which quietly goes direct when a proxy variable cannot be parsed, a proxy that cannot
 * be used is a CONFIG error here, at start. http:// and https:// proxies are supported; socks5 is not.
 */
export function chooseProxy(
  server: string,
  from: { proxyUrl?: string | undefined; env?: ProxyEnv | undefined },
  at: string,
): URL | undefined {
  if (from.proxyUrl) return parseProxy(from.proxyUrl, `${at}: proxy-url`);
  const env = from.env;
  if (!env) return undefined;
  const url = new URL(server);
  const https = url.protocol === 'https:';
  const raw = https ? env.httpsProxy : env.httpProxy;
  if (!raw) return undefined;
  const name = https ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  if (!https && env.cgi) {
    throw configError(
      `${at}: refusing to use HTTP_PROXY in a CGI environment (REQUEST_METHOD is set), as Go does; see golang.org/s/cgihttpproxy`,
    );
  }
  if (!useProxy(url, env.noProxy)) return undefined;
  return parseProxy(raw, `${at}: ${name} (or ${name.toLowerCase()})`);
}

/** Go's parseProxy: a full URL, or `host[:port]` taken as http://. */
export function parseProxy(raw: string, what: string): URL {
  let url: URL;
  try {
    // Go retries a value without scheme or host as http://; a value with :// must parse as it is.
    url = new URL(raw);
    if (!url.host && !raw.includes('://')) url = new URL(`http://${raw}`);
  } catch (err) {
    try {
      if (raw.includes('://')) throw err;
      url = new URL(`http://${raw}`);
    } catch (err2) {
      throw configError(`${what}: invalid proxy address "${redact(raw)}"`, err2);
    }
  }
  if (url.protocol === 'socks5:') {
    throw configError(
      `${what}: socks5 proxies are not supported; use an HTTP CONNECT proxy (http:// or https://)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(
      `${what}: proxy scheme "${url.protocol.slice(0, -1)}" is not supported; use http:// or https://`,
    );
  }
  if (!url.hostname) throw configError(`${what}: proxy address "${redact(raw)}" has no host`);
  return url;
}

/** A proxy URL for messages and logs: credentials removed. */
export function redact(proxy: string | URL): string {
  try {
    const u = new URL(proxy);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.href.replace(/\/$/, '');
  } catch {
    return String(proxy).replace(/\/\/[^@/]*@/, '//');
  }
}
