import {
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CertificateAuthority, issueServingCertificate } from './pki.ts';

/**
 * A minimal OpenID Connect issuer for the stack's kube-apiserver to trust (its JWT authenticator,
 * `--authentication-config`), served by the process that started the stack: discovery, the signing
 * key (JWKS) and a token endpoint answering refresh_token grants. Tokens are RS256 JWTs signed
 * with a key generated per stack; tests mint them with mintOidcToken. Only enough of OIDC for a
 * client (kubectl's oidc auth-provider, client-node's) to present and refresh an ID token.
 */
export interface OidcIssuerInfo {
  /** https://127.0.0.1:<port>; also the `iss` of its tokens. */
  url: string;
  /** The `aud` (client id) the API server accepts. */
  clientId: string;
  /** A client that authenticates at the token endpoint must use this secret (public clients send none). */
  clientSecret: string;
  /** The API server maps `sub` to user `oidc:<sub>` and `groups` to `oidc:<group>`. */
  usernamePrefix: string;
  /** PEM private key the tokens are signed with (for mintOidcToken). */
  signingKeyFile: string;
  /** The CA of the issuer's serving certificate (the stack's CA). */
  caFile: string;
}

export interface OidcIssuer extends OidcIssuerInfo {
  close(): Promise<void>;
}

const KID = 'fleetscan-stack';

export async function startOidcIssuer(opts: { dir: string; ca: CertificateAuthority }): Promise<OidcIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKeyFile = join(opts.dir, 'oidc-signing.key');
  await writeFile(signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const serving = await issueServingCertificate(opts.ca, { dir: opts.dir, name: 'oidc-issuer' });
  const [key, cert] = await Promise.all([readFile(serving.keyFile), readFile(serving.certFile)]);
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] };
  const clientId = 'fleetscan';
  const clientSecret = randomBytes(12).toString('hex');
  let url = '';

  const server: Server = createServer({ key, cert }, (req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', url).pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: url,
        jwks_uri: `${url}/keys`,
        token_endpoint: `${url}/token`,
        authorization_endpoint: `${url}/authorize`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        grant_types_supported: ['refresh_token'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
      });
    }
    if (req.method === 'GET' && path === '/keys') return json(200, jwks);
    if (req.method === 'POST' && path === '/token') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (!clientAuthenticated(req.headers.authorization, form, clientId, clientSecret)) {
          return json(401, { error: 'invalid_client' });
        }
        const claims =
          form.get('grant_type') === 'refresh_token'
            ? verifyToken(form.get('refresh_token') ?? '', publicKey, url, 'refresh')
            : undefined;
        if (!claims) return json(400, { error: 'invalid_grant' });
        const sub = String(claims.sub);
        const groups = Array.isArray(claims.groups) ? claims.groups.map(String) : [];
        const info = { url, clientId, signingKey: privateKey };
        return json(200, {
          token_type: 'Bearer',
          expires_in: 3600,
          access_token: signToken(info, { sub, groups, expiresInSeconds: 3600 }),
          id_token: signToken(info, { sub, groups, expiresInSeconds: 3600 }),
          refresh_token: signToken(info, { sub, groups, expiresInSeconds: 86_400, use: 'refresh' }),
        });
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Not a reason to keep a test process alive.
  server.unref();
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    clientId,
    clientSecret,
    usernamePrefix: 'oidc:',
    signingKeyFile,
    caFile: opts.ca.certFile,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The AuthenticationConfiguration that makes kube-apiserver trust the issuer. */
export function authenticationConfig(issuer: OidcIssuerInfo, caPem: string): string {
  return `${JSON.stringify(
    {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [
        {
          issuer: { url: issuer.url, audiences: [issuer.clientId], certificateAuthority: caPem },
          claimMappings: {
            username: { claim: 'sub', prefix: issuer.usernamePrefix },
            groups: { claim: 'groups', prefix: issuer.usernamePrefix },
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface TokenClaims {
  sub: string;
  groups?: string[];
  /** Negative for a token that has already expired. Default 3600. */
  expiresInSeconds?: number;
  /** A refresh token (only the issuer's token endpoint accepts it) rather than an ID token. */
  use?: 'id' | 'refresh';
}

/** An ID token (or refresh token) of the stack's issuer, for tests. */
export async function mintOidcToken(issuer: OidcIssuerInfo, claims: TokenClaims): Promise<string> {
  const signingKey = createPrivateKey(await readFile(issuer.signingKeyFile));
  return signToken({ url: issuer.url, clientId: issuer.clientId, signingKey }, claims);
}

function signToken(
  issuer: { url: string; clientId: string; signingKey: KeyObject },
  claims: TokenClaims,
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: KID };
  const payload = {
    iss: issuer.url,
    // A refresh token is for the token endpoint only: another audience, so the API server refuses it.
    aud: claims.use === 'refresh' ? `${issuer.clientId}-refresh` : issuer.clientId,
    sub: claims.sub,
    ...(claims.groups && { groups: claims.groups }),
    iat: now,
    exp: now + (claims.expiresInSeconds ?? 3600),
    jti: randomBytes(8).toString('hex'),
    ...(claims.use === 'refresh' && { token_use: 'refresh' }),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign('sha256', Buffer.from(input), issuer.signingKey).toString('base64url')}`;
}

function verifyToken(
  token: string,
  publicKey: KeyObject,
  iss: string,
  use: 'refresh',
): Record<string, unknown> | undefined {
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return undefined;
  if (!verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'))) return undefined;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  const fresh = typeof claims.exp === 'number' && claims.exp > Date.now() / 1000;
  return fresh && claims.iss === iss && claims.token_use === use && typeof claims.sub === 'string'
    ? claims
    : undefined;
}

/** client_secret_basic or client_secret_post with the right secret, or no client authentication at all. */
function clientAuthenticated(
  authorization: string | undefined,
  form: URLSearchParams,
  clientId: string,
  clientSecret: string,
): boolean {
  if (authorization?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(authorization.slice(6), 'base64')
      .toString('utf8')
      .split(':')
      .map((v) => decodeURIComponent(v));
    return id === clientId && secret === clientSecret;
  }
  const secret = form.get('client_secret');
  return secret === null || secret === clientSecret;
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}
