import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

/**
 * A small HTTP CONNECT proxy on 127.0.0.1 for integration tests: it tunnels to 127.0.0.1 only,
 * for targets whose host is 127.0.0.1 or one of `hosts` (names only this proxy knows, mapped to
 * 127.0.0.1 with the port kept), and answers 403 to anything else. Records what it was asked.
 * (packages/kube's unit tests have a fuller one; tests cannot import across projects.)
 */
export interface ConnectProxy {
  readonly url: string;
  readonly seen: { method: string; target: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startConnectProxy(hosts: string[] = []): Promise<ConnectProxy> {
  const seen: ConnectProxy['seen'] = [];
  const allowed = new Set(['127.0.0.1', ...hosts]);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const target = req.url ?? '';
    seen.push({ method: 'CONNECT', target, authorization: req.headers['proxy-authorization'] });
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon);
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
