import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeConnection } from './connection.ts';
import { KubeErrorCode } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { createTransport } from './transport.ts';

/**
 * An oidc auth-provider user, at the wire: the provider's id-token lands in the Authorization header
 * of our requests. Refreshing at a real issuer and the API server accepting the tokens are tested
 * against the stack (test/integration/kube-access.test.ts).
 */

let dir: string;
let server: Server;
let url: string;
let seen: IncomingMessage['headers'][];
const opened: KubeConnection[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-auth-provider-'));
  seen = [];
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** An unsigned JWT: the client reads only its exp, to decide whether to refresh. */
function jwt(expSeconds: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub: 'alice', exp: expSeconds })}.sig`;
}

async function connect(config: Record<string, string>): Promise<KubeConnection> {
  const file = join(dir, 'kubeconfig');
  await writeFile(
    file,
    stringify({
      clusters: [{ name: 'c', cluster: { server: url } }],
      users: [{ name: 'u', user: { 'auth-provider': { name: 'oidc', config } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  const conn = loadKubeConfig({ kubeconfigPath: file });
  opened.push(conn);
  return conn;
}

describe('oidc auth-provider users', () => {
  it('send the provider’s id-token as a bearer token on every request', async () => {
    const token = jwt(Math.floor(Date.now() / 1000) + 3600);
    const t = createTransport(
      await connect({ 'client-id': 'fleetscan', 'idp-issuer-url': 'https://127.0.0.1:1', 'id-token': token }),
    );
    await t.getJson('/api', {}, AbortSignal.timeout(10_000));
    await t.getJson('/apis', {}, AbortSignal.timeout(10_000));
    expect(seen.map((h) => h.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
  });

  it('fail with CONFIG, before sending anything, when the id-token expired and there is no refresh-token', async () => {
    const expired = jwt(Math.floor(Date.now() / 1000) - 60);
    const t = createTransport(
      await connect({
        'client-id': 'fleetscan',
        'idp-issuer-url': 'https://127.0.0.1:1',
        'id-token': expired,
      }),
    );
    const err = await t.getJson('/api', {}, AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: KubeErrorCode.Config,
      message: expect.stringContaining(
        'auth-provider "oidc": no valid id-token, and no refresh-token to get one',
      ),
    });
    expect(seen).toEqual([]);
  });

  it('are refused at load without client-id or idp-issuer-url (as client-go) or with an unreadable IdP CA', async () => {
    await expect(connect({ 'idp-issuer-url': 'https://issuer', 'id-token': 'x' })).rejects.toThrow(
      /auth-provider "oidc": client-id is required/,
    );
    await expect(connect({ 'client-id': 'c', 'id-token': 'x' })).rejects.toThrow(
      /auth-provider "oidc": idp-issuer-url is required/,
    );
    // The IdP's CA is read at load too, relative to the kubeconfig.
    await expect(
      connect({ 'client-id': 'c', 'idp-issuer-url': 'https://i', 'idp-certificate-authority': 'idp-ca.pem' }),
    ).rejects.toThrow(`idp-certificate-authority ${join(dir, 'idp-ca.pem')} cannot be read`);
  });
});
