import { createServer, Socket } from 'node:net';
import { createLinkClock, type LinkShape, type Pacer } from './link-pacing.ts';

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (host:port) that shapes both directions of every
 * connection (link-pacing.ts): a SIMULATION of a registry far away, for scans that are bound by
 * pulling. Data waiting to be delivered is bounded per direction (like a TCP window): past it the
 * sending side is paused, so a 500 MB layer never sits in memory.
 */
export interface ShapedLink {
  /** `127.0.0.1:<port>`: image references through the link use it as their registry. */
  host: string;
  /** Bytes carried, both directions. */
  readonly bytes: number;
  close(): Promise<void>;
}

const WINDOW_BYTES = 4 * 1024 * 1024;

export async function startShapedLink(target: string, shape: LinkShape): Promise<ShapedLink> {
  const [host, port] = splitHost(target);
  const clock = createLinkClock(shape);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    // An error ends both sides; a side that closes normally ends the other only once what it sent
    // has been delivered (pipeShaped), since the link still holds it for a while.
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    upstream.connect(port, host, () => {
      pipeShaped(client, upstream, clock.connection());
      pipeShaped(upstream, client, clock.connection());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('shaped link: no address');
  return {
    host: `127.0.0.1:${address.port}`,
    get bytes() {
      return clock.bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Moves `from`'s data to `to`, each chunk delivered when the pacer says, strictly in order (one
 * queue and one timer per direction); `from` is paused while more than the window waits.
 */
function pipeShaped(from: Socket, to: Socket, pacer: Pacer): void {
  const queue: { chunk: Buffer; at: number }[] = [];
  let head = 0;
  let waiting = 0;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    timer = undefined;
    const t = Date.now();
    while (head < queue.length && (queue[head] as { at: number }).at <= t) {
      const { chunk } = queue[head] as { chunk: Buffer };
      queue[head++] = { chunk: Buffer.alloc(0), at: 0 };
      waiting -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (head === queue.length || head > 1024) {
      queue.splice(0, head);
      head = 0;
    }
    if (waiting <= WINDOW_BYTES / 2 && from.isPaused()) from.resume();
    if (head < queue.length) timer = setTimeout(drain, (queue[head] as { at: number }).at - t);
    else if (ended) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ chunk, at: pacer.deliverAt(chunk.length, Date.now()) });
    waiting += chunk.length;
    if (waiting > WINDOW_BYTES) from.pause();
    timer ??= setTimeout(drain, Math.max(0, (queue[head] as { at: number }).at - Date.now()));
  });
  from.on('end', () => {
    ended = true;
    if (head === queue.length && !timer) to.end();
  });
}

function splitHost(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}
