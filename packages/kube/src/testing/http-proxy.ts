import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';

/**
 * A small HTTP proxy at the wire, for tests: CONNECT tunnels (https:// targets) and absolute-form
 * forwarding (http:// targets), over plain HTTP or TLS. It only ever connects to 127.0.0.1: a target
 * host is looked up in `hosts` (name → port on 127.0.0.1 is kept, the name is only a label), and
 * anything else is refused with 403, so a test can use names that no resolver knows.
 */
export interface TestProxy {
  readonly url: string;
  /** Every request the proxy received, in order. */
  readonly seen: { method: string; target: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startTestProxy(opts: {
  /** Host names (lower case) the proxy forwards to 127.0.0.1; 127.0.0.1 itself is always allowed. */
  hosts?: string[];
  /** Require this Proxy-Authorization value (407 otherwise). */
  authorization?: string;
  /** Serve the proxy itself over TLS with this key and certificate. */
  tls?: { key: Buffer; cert: Buffer };
}): Promise<TestProxy> {
  const seen: TestProxy['seen'] = [];
  const allowed = new Set(['127.0.0.1', ...(opts.hosts ?? [])]);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const authorized = (req: IncomingMessage) =>
    opts.authorization === undefined || req.headers['proxy-authorization'] === opts.authorization;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      method: req.method ?? '',
      target: req.url ?? '',
      authorization: req.headers['proxy-authorization'],
    });
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected');
      return;
    }
    if (!authorized(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    if (target.protocol !== 'http:' || !allowed.has(target.hostname)) {
      res.writeHead(403).end(`not allowed: ${target.host}`);
      return;
    }
    const { 'proxy-authorization': _auth, ...headers } = req.headers;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: target.port || 80,
        path: target.pathname + target.search,
        method: req.method,
        headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const tunnel = (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const target = req.url ?? '';
    seen.push({ method: 'CONNECT', target, authorization: req.headers['proxy-authorization'] });
    if (!authorized(req)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n',
      );
      return;
    }
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(target.slice(colon + 1));
    if (!allowed.has(host) || !port) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  };

  const server: Server = opts.tls ? createHttpsServer(opts.tls, forward) : createServer(forward);
  server.on('connect', tunnel);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
