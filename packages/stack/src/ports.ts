import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** Where ports are looked for when the kernel's ephemeral range leaves room below it. */
const LOWEST = 10_000;
const TRIES = 50;
/** Ports handed out by this process: not handed out twice while their server may still be starting. */
const given = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that is free now, for a server we start next. It is taken below the
 * kernel's ephemeral range (net.ipv4.ip_local_port_range) when there is room: a port the kernel
 * picked for us is one it may give the next outgoing connection as its local port, in the moment
 * between our check and the server's bind (kube-apiserver failed to start once with "address
 * already in use" that way). Falls back to the kernel's pick.
 */
export async function freePort(): Promise<number> {
  const low = (await ephemeralRange())?.[0];
  if (low !== undefined && low - LOWEST >= 1_000) {
    for (let i = 0; i < TRIES; i++) {
      const port = LOWEST + Math.floor(Math.random() * (low - LOWEST));
      if (given.has(port)) continue;
      if (await bindable(port)) {
        given.add(port);
        return port;
      }
    }
  }
  return kernelPort();
}

/** The kernel's ephemeral port range, or undefined where it cannot be read (not Linux). */
export async function ephemeralRange(): Promise<[number, number] | undefined> {
  try {
    const [a, b] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))
      .trim()
      .split(/\s+/)
      .map(Number);
    return a !== undefined && b !== undefined && Number.isInteger(a) && Number.isInteger(b)
      ? [a, b]
      : undefined;
  } catch {
    return undefined;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}
