import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeConnection } from './connection.ts';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { type LoadKubeConfigOptions, loadKubeConfig } from './kubeconfig.ts';
import { readLines } from './lines.ts';
import { proxyEnvFrom } from './proxy.ts';
import { startTestProxy, type TestProxy } from './testing/http-proxy.ts';
import { createTransport } from './transport.ts';

/**
 * Requests through a proxy, at the wire: a fake API server and a small proxy, both on 127.0.0.1.
 * The API server is addressed as kube.internal, a name only the proxy knows (it maps it to
 * 127.0.0.1), so a request that reached the server went through the proxy. Each test first checks
 * that the connection chose the proxy, so a wrong choice fails before anything is sent.
 */

let dir: string;
let key: Buffer;
let cert: Buffer;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-proxy-'));
  // One self-signed certificate for the API server (kube.internal) and the TLS proxy (127.0.0.1).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=kube.internal',
      '-addext',
      'subjectAltName=DNS:kube.internal,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'ca.pem'))]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface ApiServer {
  port: number;
  seen: { url: string; authorization: string | undefined; proxyAuthorization: string | undefined }[];
}

/** A fake API server answering {path} to every request, streaming for ?watch=true. */
async function startApiServer(scheme: 'http' | 'https'): Promise<ApiServer> {
  const seen: ApiServer['seen'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      url: req.url ?? '',
      authorization: req.headers.authorization,
      proxyAuthorization: req.headers['proxy-authorization'],
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.includes('watch=true')) {
      res.write(`${JSON.stringify({ type: 'BOOKMARK' })}\n`);
      return;
    }
    res.end(JSON.stringify({ path: req.url }));
  };
  const server: Server =
    scheme === 'https' ? createHttpsServer({ key, cert }, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen };
}

async function proxy(opts: Parameters<typeof startTestProxy>[0]): Promise<TestProxy> {
  const p = await startTestProxy(opts);
  cleanup.push(() => p.close());
  return p;
}

/** A connection from a kubeconfig file for `server`, with the given cluster fields and load options. */
async function connect(
  server: string,
  cluster: Record<string, unknown> = {},
  opts: LoadKubeConfigOptions = {},
): Promise<KubeConnection> {
  const file = join(dir, 'kubeconfig');
  await writeFile(
    file,
    stringify({
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority': 'ca.pem', ...cluster } }],
      users: [{ name: 'u', user: { token: 'T' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  const conn = loadKubeConfig({ kubeconfigPath: file, ...opts });
  cleanup.push(() => conn.close());
  return conn;
}

const get = (conn: KubeConnection, path: string) =>
  createTransport(conn).getJson(path, {}, AbortSignal.timeout(10_000));

describe('through HTTPS_PROXY: a CONNECT tunnel, TLS with the API server inside it', () => {
  it('verifies the API server by its own name and CA, authenticates to it, and keeps one tunnel alive', async () => {
    const api = await startApiServer('https');
    const p = await proxy({ hosts: ['kube.internal'] });
    const conn = await connect(
      `https://kube.internal:${api.port}`,
      {},
      {
        proxy: proxyEnvFrom({ HTTPS_PROXY: p.url, NO_PROXY: 'localhost,.cluster.local' }),
      },
    );
    expect(conn.proxy).toBe(p.url);

    for (let i = 0; i < 3; i++) expect(await get(conn, `/api/${i}`)).toEqual({ path: `/api/${i}` });
    // A watch holds its own tunnel; other requests still get through.
    const watch = new AbortController();
    const stream = await createTransport(conn).openStream('/api/pods', { watch: true }, watch.signal);
    expect((await readLines(stream, () => {}).next()).value).toBe('{"type":"BOOKMARK"}');
    expect(await get(conn, '/api/after')).toEqual({ path: '/api/after' });
    watch.abort();

    expect(api.seen.map((s) => s.authorization)).toEqual(Array(5).fill('Bearer T'));
    const target = `kube.internal:${api.port}`;
    expect(p.seen).toEqual([
      { method: 'CONNECT', target, authorization: undefined },
      { method: 'CONNECT', target, authorization: undefined },
    ]);
  });

  it('sends the proxy URL’s credentials to the proxy only, and turns a refusal into TRANSIENT without them', async () => {
    const api = await startApiServer('https');
    const expected = `Basic ${Buffer.from('fleet:p@ss').toString('base64')}`;
    const p = await proxy({ hosts: ['kube.internal'], authorization: expected });
    const withCredentials = p.url.replace('//', '//fleet:p%40ss@');
    const conn = await connect(
      `https://kube.internal:${api.port}`,
      {},
      { proxy: { httpsProxy: withCredentials } },
    );
    expect(conn.proxy).toBe(p.url);
    expect(await get(conn, '/api')).toEqual({ path: '/api' });
    expect(p.seen[0]?.authorization).toBe(expected);
    expect(api.seen[0]?.proxyAuthorization).toBeUndefined();

    const wrong = await connect(
      `https://kube.internal:${api.port}`,
      {},
      { proxy: { httpsProxy: p.url.replace('//', '//fleet:wrong@') } },
    );
    const err = await get(wrong, '/api').catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Transient), String(err)).toBe(true);
    expect((err as Error).message).toBe(
      `proxy ${p.url}: refused CONNECT kube.internal:${api.port}: HTTP/1.1 407 Proxy Authentication Required`,
    );
  });

  it('fails TRANSIENT, naming the proxy, when it is down, refuses the target, or never answers', async () => {
    const api = await startApiServer('https');
    const p = await proxy({ hosts: [] });
    const refusedTarget = await connect(
      `https://kube.internal:${api.port}`,
      {},
      { proxy: { httpsProxy: p.url } },
    );
    expect(await get(refusedTarget, '/api').catch((e: unknown) => e)).toMatchObject({
      code: KubeErrorCode.Transient,
      message: `proxy ${p.url}: refused CONNECT kube.internal:${api.port}: HTTP/1.1 403 Forbidden`,
    });

    const down = await connect(
      `https://kube.internal:${api.port}`,
      {},
      { proxy: { httpsProxy: 'http://127.0.0.1:1' } },
    );
    expect(await get(down, '/api').catch((e: unknown) => e)).toMatchObject({
      code: KubeErrorCode.Transient,
      message: expect.stringMatching(/^proxy http:\/\/127\.0\.0\.1:1: ECONNREFUSED/),
    });

    // Accepts the connection, reads CONNECT, never answers.
    const silent = createTcpServer((s) => s.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const hanging = await connect(
      `https://kube.internal:${api.port}`,
      {},
      { proxy: { httpsProxy: silentUrl }, proxyTunnelTimeoutMs: 200 },
    );
    expect(await get(hanging, '/api').catch((e: unknown) => e)).toMatchObject({
      code: KubeErrorCode.Transient,
      message: `proxy ${silentUrl}: no answer to CONNECT kube.internal:${api.port} within 200 ms`,
    });
    expect(api.seen).toEqual([]);
  });

  it('goes direct for NO_PROXY hosts and loopback servers: the proxy sees nothing', async () => {
    const api = await startApiServer('https');
    const p = await proxy({ hosts: ['kube.internal'] });
    const env = proxyEnvFrom({ https_proxy: p.url });
    const loopback = await connect(`https://127.0.0.1:${api.port}`, {}, { proxy: env });
    expect(loopback.proxy).toBeUndefined();
    expect(await get(loopback, '/api')).toEqual({ path: '/api' });
    const localhost = await connect(
      `https://localhost:${api.port}`,
      { 'tls-server-name': 'kube.internal' },
      { proxy: env },
    );
    expect(localhost.proxy).toBeUndefined();
    expect(await get(localhost, '/api')).toEqual({ path: '/api' });
    expect(p.seen).toEqual([]);
  });
});

describe('through a cluster’s proxy-url', () => {
  it('tunnels every request, loopback servers included, over the environment’s proxy', async () => {
    const api = await startApiServer('https');
    const p = await proxy({});
    const conn = await connect(
      `https://127.0.0.1:${api.port}`,
      { 'proxy-url': p.url },
      { proxy: { httpsProxy: 'http://127.0.0.1:1' } },
    );
    expect(conn.proxy).toBe(p.url);
    expect(await get(conn, '/version')).toEqual({ path: '/version' });
    expect(p.seen).toEqual([
      { method: 'CONNECT', target: `127.0.0.1:${api.port}`, authorization: undefined },
    ]);
  });

  it('reaches an https:// proxy over TLS, trusting it with the cluster’s CA as Go does', async () => {
    const api = await startApiServer('https');
    const p = await proxy({ hosts: ['kube.internal'], tls: { key, cert } });
    expect(p.url).toMatch(/^https:/);
    const conn = await connect(`https://kube.internal:${api.port}`, { 'proxy-url': p.url });
    expect(await get(conn, '/api')).toEqual({ path: '/api' });
    expect(p.seen).toEqual([
      { method: 'CONNECT', target: `kube.internal:${api.port}`, authorization: undefined },
    ]);
  });
});

describe('through HTTP_PROXY: an http:// API server', () => {
  it('sends absolute-form requests to the proxy, with its credentials', async () => {
    const api = await startApiServer('http');
    const p = await proxy({ hosts: ['kube.internal'] });
    const conn = await connect(
      `http://kube.internal:${api.port}`,
      { 'certificate-authority': undefined },
      { proxy: proxyEnvFrom({ HTTP_PROXY: p.url.replace('//', '//u:pw@') }) },
    );
    expect(conn.proxy).toBe(p.url);
    expect(await get(conn, '/api/v1/pods?limit=1')).toEqual({ path: '/api/v1/pods?limit=1' });
    expect(await get(conn, '/api')).toEqual({ path: '/api' });
    const auth = `Basic ${Buffer.from('u:pw').toString('base64')}`;
    expect(p.seen).toEqual([
      { method: 'GET', target: `http://kube.internal:${api.port}/api/v1/pods?limit=1`, authorization: auth },
      { method: 'GET', target: `http://kube.internal:${api.port}/api`, authorization: auth },
    ]);
    expect(api.seen.map((s) => s.authorization)).toEqual(['Bearer T', 'Bearer T']);
  });
});
