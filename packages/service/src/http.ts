import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Liveness: the process is not wedged. */
  healthy(): boolean;
  /** Readiness: with reasons when not ready, and every check by name, so /readyz says why. */
  ready(): { ok: boolean; reasons: string[]; checks?: readonly ReadinessCheck[] };
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  /** Why not ready, or what is fine ("ok", "1 of 4 slots busy"). */
  reason: string;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /readyz's text: the verdict, then every check by name with its state, so a person sees what is
 * fine as well as what is not (a stuck scan slot, a watch re-listing).
 */
export function readyzBody(r: ReturnType<HealthSource['ready']>): string {
  const lines = r.checks?.length
    ? r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.reason}`)
    : r.reasons.map((x) => `FAIL ${x}`);
  return `${r.ok ? 'ok' : 'not ready'}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

/** Serves /metrics, /healthz and /readyz on 127.0.0.1 (or `host`). */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  health: HealthSource;
  /**
   * /metrics in chunks instead of `registry.metrics()` as one string, for a registry whose text
   * is large (the writer's report metrics): written as produced, waiting for the client to drain.
   */
  render?: (registry: Registry) => AsyncIterable<string>;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && opts.render) {
      void stream(res, opts.registry.contentType, opts.render(opts.registry));
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (path === '/healthz') {
      const ok = opts.health.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (path === '/readyz') {
      const r = opts.health.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(readyzBody(r));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Until the response drains or closes. The wait that loses is cancelled: its listeners would
 * otherwise stay on the response, one more set per wait, until the response ends.
 */
async function drainedOrClosed(res: ServerResponse): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: done.signal }),
      once(res, 'close', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}

/**
 * Writes `chunks` as they come, pausing while the socket is full. A failure before the first chunk
 * is a 500; after it the response is cut, which Prometheus records as a failed scrape rather than
 * reading half a family as the whole.
 */
async function stream(
  res: ServerResponse,
  contentType: string,
  chunks: AsyncIterable<string>,
): Promise<void> {
  let started = false;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!started) {
        res.writeHead(200, { 'content-type': contentType });
        started = true;
      }
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    if (!started) res.writeHead(200, { 'content-type': contentType });
    res.end();
  } catch (err) {
    if (started) res.destroy();
    else {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  }
}
