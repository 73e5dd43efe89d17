import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createKubeConnection, type KubeConnection } from './connection.ts';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { readLines } from './lines.ts';
import { createTransport } from './transport.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let dir: string;
let server: Server;
let url: string;
let seen: Seen[];
let connections: number;
let handler: (req: Seen, res: ServerResponse) => void;
const opened: KubeConnection[] = [];

async function listen(s: Server, scheme: string): Promise<void> {
  server = s;
  seen = [];
  connections = 0;
  // TCP connections; an HTTPS server emits this once per connection too (then secureConnection).
  s.on('connection', () => connections++);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  url = `${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const r = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    seen.push(r);
    handler(r, res);
  });
}

const json = (res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
});

function connect(token = 'T'): KubeConnection {
  const conn = createKubeConnection({
    server: url,
    source: 'test',
    auth: { kind: 'token', token, tokenFile: undefined },
  });
  opened.push(conn);
  return conn;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-transport-'));
  handler = (_req, res) => json(res, 200, { ok: true });
});

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('transport over plain HTTP', () => {
  beforeEach(() => listen(createServer(serve), 'http'));

  it('sends writes with method, query, content type and JSON body, and parses the answer', async () => {
    handler = (req, res) => json(res, 200, { echoed: JSON.parse(req.body) });
    const t = createTransport(connect());
    const out = await t.request(
      {
        method: 'PATCH',
        path: '/apis/g/v1/namespaces/ns/things/a%2Fb',
        query: { fieldManager: 'me', force: true, dryRun: undefined },
        body: { kind: 'Thing', metadata: { name: 'a/b' } },
        contentType: 'application/apply-patch+yaml',
      },
      AbortSignal.timeout(5000),
    );
    expect(out).toEqual({ echoed: { kind: 'Thing', metadata: { name: 'a/b' } } });
    const [req] = seen;
    expect(req?.method).toBe('PATCH');
    expect(req?.url).toBe('/apis/g/v1/namespaces/ns/things/a%2Fb?fieldManager=me&force=true');
    expect(req?.headers).toMatchObject({
      authorization: 'Bearer T',
      'content-type': 'application/apply-patch+yaml',
      accept: 'application/json',
      'user-agent': 'fleetscan-kube',
    });

    handler = (_req, res) => res.end();
    expect(await t.request({ method: 'DELETE', path: '/x' }, AbortSignal.timeout(5000))).toBeUndefined();
  });

  it('reuses one keep-alive connection for every request of a connection, and an open watch does not block others', async () => {
    const conn = connect();
    const [a, b] = [createTransport(conn), createTransport(conn)];
    for (let i = 0; i < 5; i++) await (i % 2 ? a : b).getJson('/api/v1/pods', {}, AbortSignal.timeout(5000));
    expect(seen).toHaveLength(5);
    expect(connections).toBe(1);

    handler = (req, res) => {
      if (!req.url.includes('watch=true')) return json(res, 200, { ok: true });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'BOOKMARK' })}\n`);
    };
    const watch = new AbortController();
    const stream = await a.openStream('/api/v1/pods', { watch: true }, watch.signal);
    const lines = readLines(stream, () => {});
    expect((await lines.next()).value).toBe('{"type":"BOOKMARK"}');
    await Promise.all([1, 2, 3].map(() => b.getJson('/api/v1/pods', {}, AbortSignal.timeout(5000))));
    watch.abort();
    expect(connections).toBeLessThanOrEqual(4);
  });

  it('classifies error answers with the same codes as before', async () => {
    const t = createTransport(connect());
    const fail = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      handler = (_req, res) => {
        if (typeof body === 'string') {
          res.writeHead(code, headers);
          res.end(body);
        } else json(res, code, body, headers);
      };
      return t
        .getJson('/api/v1/namespaces/ns/secrets/s', {}, AbortSignal.timeout(5000))
        .catch((e: unknown) => e);
    };
    const notFound = await fail(404, status(404, 'NotFound', 'secrets "s" not found'));
    expect(isKubeError(notFound, KubeErrorCode.NotFound)).toBe(true);
    expect(notFound).toMatchObject({
      status: 404,
      reason: 'NotFound',
      message: 'HTTP 404 NotFound: secrets "s" not found',
    });
    expect(await fail(409, status(409, 'Conflict', 'x'))).toMatchObject({ code: KubeErrorCode.Conflict });
    expect(await fail(409, status(409, 'AlreadyExists', 'x'))).toMatchObject({
      code: KubeErrorCode.AlreadyExists,
    });
    expect(await fail(422, status(422, 'Invalid', 'x'))).toMatchObject({ code: KubeErrorCode.Invalid });
    expect(await fail(429, 'slow down', { 'retry-after': '4' })).toMatchObject({
      code: KubeErrorCode.Transient,
      retryAfterMs: 4000,
      message: 'HTTP 429: GET /api/v1/namespaces/ns/secrets/s: slow down',
    });
    expect(await fail(403, status(403, 'Forbidden', 'no'))).toMatchObject({ code: KubeErrorCode.Forbidden });
  });

  it('re-reads a rotated token file after a 401', async () => {
    const file = join(dir, 'kubeconfig');
    await writeFile(join(dir, 'token'), 'old');
    await writeFile(
      file,
      stringify({
        clusters: [{ name: 'c', cluster: { server: url } }],
        users: [{ name: 'u', user: { tokenFile: 'token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const conn = loadKubeConfig({ kubeconfigPath: file });
    opened.push(conn);
    handler = (req, res) =>
      req.headers.authorization === 'Bearer new'
        ? json(res, 200, {})
        : json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const t = createTransport(conn);
    await writeFile(join(dir, 'token'), 'new');
    const err = await t.getJson('/api', {}, AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Unauthorized)).toBe(true);
    expect(await t.getJson('/api', {}, AbortSignal.timeout(5000))).toEqual({});
  });

  it('turns network failures and aborts into TRANSIENT and ABORTED', async () => {
    const t = createTransport(connect());
    handler = () => {}; // never answers
    const ac = new AbortController();
    const pending = t.getJson('/slow', {}, ac.signal).catch((e: unknown) => e);
    ac.abort();
    expect(isKubeError(await pending, KubeErrorCode.Aborted)).toBe(true);
    const timedOut = await t.getJson('/slow', {}, AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect(isKubeError(timedOut, KubeErrorCode.Transient)).toBe(true);
    const refused = createTransport(createKubeConnection({ server: 'http://127.0.0.1:1', source: 'test' }));
    const err = await refused.getJson('/api', {}, AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: KubeErrorCode.Transient,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('transport over HTTPS', () => {
  beforeEach(async () => {
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
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=kube.internal',
        '-addext',
        'subjectAltName=DNS:kube.internal',
      ],
      { stdio: 'ignore' },
    );
    const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
    await listen(createHttpsServer({ key, cert }, serve), 'https');
  });

  const load = async (cluster: object) => {
    const file = join(dir, 'kubeconfig');
    await writeFile(
      file,
      stringify({
        clusters: [{ name: 'c', cluster: { server: url, ...cluster } }],
        users: [{ name: 'u', user: { token: 'T' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const conn = loadKubeConfig({ kubeconfigPath: file });
    opened.push(conn);
    return createTransport(conn);
  };

  it('verifies the server against the CA under tls-server-name, over one TLS connection', async () => {
    const t = await load({ 'certificate-authority': 'cert.pem', 'tls-server-name': 'kube.internal' });
    for (let i = 0; i < 3; i++)
      expect(await t.getJson('/api', {}, AbortSignal.timeout(5000))).toEqual({ ok: true });
    expect(connections).toBe(1);
    expect(seen[0]?.headers.authorization).toBe('Bearer T');
  });

  it('refuses a server whose certificate does not match, unless verification is skipped', async () => {
    const wrongName = await load({ 'certificate-authority': 'cert.pem' });
    const err = await wrongName.getJson('/api', {}, AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: KubeErrorCode.Transient,
      message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID'),
    });
    const unknownCa = await load({});
    expect(
      await unknownCa.getJson('/api', {}, AbortSignal.timeout(5000)).catch((e: unknown) => e),
    ).toMatchObject({
      code: KubeErrorCode.Transient,
    });
    const insecure = await load({ 'insecure-skip-tls-verify': true });
    expect(await insecure.getJson('/api', {}, AbortSignal.timeout(5000))).toEqual({ ok: true });
  });
});
