import type { Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as client from 'openid-client';
import { classifyKubeError, isKubeError, KubeError, KubeErrorCode } from './errors.ts';
import { configError } from './kubeconfig-file.ts';

/**
 * The oidc auth-provider as client-go implements it (k8s.io/client-go/plugin/pkg/client/auth/oidc):
 * the id-token is used until 10 s before it expires, then refreshed with the refresh-token at the
 * issuer's token endpoint (found by OIDC discovery), with the client id and secret, trusting the
 * IdP's CA if the config names one and reaching it through the environment's proxy. Refreshed
 * tokens are kept in memory (client-go writes them back to the kubeconfig; a service's file is
 * usually read-only).
 *
 * This module, and openid-client with it, is only ever imported lazily (connection.ts) for users
 * with an oidc auth-provider. It does not use client-node's implementation: through 2.0.1 that
 * one cannot refresh (it passes the issuer to openid-client as a string where a URL is required,
 * kubernetes-client/javascript#2202, and its fetch for a custom IdP CA returns something that is not
 * a Response), and loading client-node would cost every such service tens of MB.
 */
export interface OidcCredentials {
  /** The Authorization header value for the next request; refreshes first when the id-token is (nearly) expired. */
  authorization(): Promise<string>;
  /** The API server refused the token (401): refresh before the next request, if there is a refresh-token. */
  invalidate(): void;
}

/** client-go refreshes this long before `exp`, so a token does not expire on its way. */
const EXPIRY_DELTA_MS = 10_000;
const FETCH_TIMEOUT_MS = 30_000;
const MAX_RESPONSE = 1024 * 1024;

export function createOidcCredentials(opts: {
  /** The auth-provider's config: client-id, client-secret, idp-issuer-url, id-token, refresh-token, idp-certificate-authority-data. */
  config: Record<string, string>;
  at: string;
  now: () => number;
  /** The agent for requests to the issuer (keep-alive; through the environment's proxy where it applies). */
  agent: (issuer: URL) => Agent;
}): OidcCredentials {
  const c = opts.config;
  const at = `${opts.at}, auth-provider "oidc"`;
  const issuer = new URL(c['idp-issuer-url'] ?? '');
  const ca = idpCa(c);
  let idToken = c['id-token'] || undefined;
  let refreshToken = c['refresh-token'] || undefined;
  let expiresAt = idToken ? expiryOf(idToken) : undefined;
  let configuration: Promise<client.Configuration> | undefined;
  let refreshing: Promise<void> | undefined;

  const valid = () =>
    idToken !== undefined && expiresAt !== undefined && opts.now() < expiresAt - EXPIRY_DELTA_MS;

  async function refresh(): Promise<void> {
    if (!refreshToken) {
      throw configError(`${at}: no valid id-token, and no refresh-token to get one`);
    }
    try {
      const secret = c['client-secret'];
      configuration ??= client.discovery(
        issuer,
        c['client-id'] ?? '',
        secret ? { client_secret: secret } : undefined,
        // client_secret_basic: OpenID Connect's default client authentication.
        secret ? client.ClientSecretBasic(secret) : client.None(),
        { [client.customFetch]: fetchWith(opts.agent(issuer), ca) },
      );
      const tokens = await client.refreshTokenGrant(await configuration, refreshToken);
      if (!tokens.id_token) throw configError(`${at}: the issuer's token response has no id_token`);
      idToken = tokens.id_token;
      refreshToken = tokens.refresh_token ?? refreshToken;
      expiresAt = expiryOf(idToken);
    } catch (err) {
      // A failed discovery is not kept: the next request tries again.
      configuration = undefined;
      if (isKubeError(err)) throw err;
      // Unreachable or failing issuer: retry later; a refused grant or a bad answer: configuration.
      const transient = classifyKubeError(err).code === KubeErrorCode.Transient;
      throw new KubeError(
        transient ? KubeErrorCode.Transient : KubeErrorCode.Config,
        `${at}: refreshing the id-token at ${issuer.href} failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  return {
    async authorization() {
      if (!valid()) {
        refreshing ??= refresh().finally(() => {
          refreshing = undefined;
        });
        await refreshing;
      }
      return `Bearer ${idToken}`;
    },
    invalidate() {
      if (refreshToken) expiresAt = Number.NEGATIVE_INFINITY;
    },
  };
}

/** `exp` of a JWT in epoch ms; undefined (treated as expired) when it cannot be read. */
function expiryOf(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The IdP's CA, which the kubeconfig loader has already read into idp-certificate-authority-data. */
function idpCa(c: Record<string, string>): Buffer | undefined {
  const data = c['idp-certificate-authority-data'];
  return data ? Buffer.from(data, 'base64') : undefined;
}

/**
 * fetch for openid-client over node:https: our agent (keep-alive, proxy) and the IdP's CA, a
 * bounded answer, and a real Response (openid-client checks).
 */
function fetchWith(agent: Agent, ca: Buffer | undefined): client.CustomFetch {
  return async (url, options) => {
    const body = Buffer.from(
      await new Request(url, {
        method: options.method,
        body: options.body as RequestInit['body'],
        ...(options.duplex && { duplex: options.duplex }),
      }).arrayBuffer(),
    );
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
      : AbortSignal.timeout(FETCH_TIMEOUT_MS);
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: options.method,
          headers: { ...options.headers, ...(body.length > 0 && { 'content-length': body.length }) },
          agent,
          ...(ca && { ca }),
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE)
              req.destroy(new Error(`answer from ${url} is larger than ${MAX_RESPONSE} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, value);
            }
            const empty = status === 204 || status === 304;
            resolve(
              new Response(empty ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage ?? '',
                headers,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body.length > 0 ? body : undefined);
    });
  };
}
