import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeConnection, type KubeConnection } from '../connection.ts';
import type { KubeObject } from '../object.ts';

/**
 * A fake API server at the wire, for reflector tests: plain HTTP on 127.0.0.1 speaking enough of
 * the list/watch protocol (limit/continue paging, watch from a resourceVersion, bookmarks, 410 as
 * an ERROR event or HTTP status, server-side timeouts) for one cluster-wide resource, with knobs for
 * the failures the real one produces only by accident: silence, errors, compaction.
 */
export interface FakeApiServer {
  readonly url: string;
  /** A connection with the token this server accepts, or another (a new one, with its own agent, each call). */
  connection(token?: string): KubeConnection;
  /** Every request, in order. */
  readonly requests: { path: string; query: Record<string, string> }[];
  watchRequests(): Record<string, string>[];
  listRequests(): Record<string, string>[];
  /** Creates or replaces (by namespace/name) and notifies open watches. Returns the stored copy. */
  put(obj: KubeObject): KubeObject;
  remove(namespace: string, name: string): void;
  /** Runs changes without telling open watches (a watch that missed them). */
  quietly(fn: () => void): void;
  /** Forgets history: watches from an older resourceVersion get 410. */
  compact(): void;
  /** How 410 is reported to a watch from a compacted resourceVersion. */
  goneAs: 'event' | 'http';
  /** Sends a BOOKMARK at a new resourceVersion to every open watch. */
  bookmark(): string;
  /** Ends every open watch normally (as a server timeout does). */
  endWatches(): void;
  /** Behaviour of the next watch requests, consumed one per request; then normal. */
  nextWatches: ('silent' | 'hang' | 'close' | { status: number })[];
  /** Behaviour of the next list requests; then normal. */
  nextLists: ('ok' | 'expire-continue' | { status: number })[];
  /** Watches the client has open now, and how many it closed itself. */
  openWatches(): number;
  readonly clientClosedWatches: number;
  resourceVersion(): string;
  close(): Promise<void>;
}

const TOKEN = 'fake-token';

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export async function startFakeApiServer(opts: {
  path: string;
  kind: string;
  apiVersion: string;
}): Promise<FakeApiServer> {
  let rv = 100;
  let compactedAt = 0;
  let quiet = false;
  let clientClosed = 0;
  const objects = new Map<string, KubeObject>();
  let log: Event[] = [];
  /** Watches that get events; `open` also counts accepted silent ones. */
  const watchers = new Set<{ res: ServerResponse; ended: boolean }>();
  const open = new Set<{ res: ServerResponse; ended: boolean }>();
  const snapshots = new Map<string, { items: KubeObject[]; rv: number }>();
  const requests: { path: string; query: Record<string, string> }[] = [];

  const key = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const copy = <T>(v: T): T => structuredClone(v);

  function emit(type: Event['type'], object: KubeObject) {
    const ev = { rv, type, object: copy(object) };
    log.push(ev);
    if (quiet) return;
    for (const w of watchers) write(w.res, { type, object: ev.object });
  }

  function write(res: ServerResponse, event: unknown) {
    res.write(`${JSON.stringify(event)}\n`);
  }

  function status(res: ServerResponse, code: number, reason: string, message: string) {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
  }

  function list(res: ServerResponse, query: Record<string, string>) {
    const behaviour = fake.nextLists.shift();
    if (typeof behaviour === 'object') return status(res, behaviour.status, 'InternalError', 'scripted');
    let snap: { items: KubeObject[]; rv: number };
    let offset = 0;
    if (query.continue) {
      const [id, off] = query.continue.split(':');
      const found = snapshots.get(id ?? '');
      if (!found || behaviour === 'expire-continue') {
        return status(res, 410, 'Expired', 'The provided continue parameter is too old');
      }
      snap = found;
      offset = Number(off);
    } else {
      snap = { items: [...objects.values()].sort((a, b) => key(a).localeCompare(key(b))).map(copy), rv };
    }
    const limit = Number(query.limit) || snap.items.length;
    const page = snap.items.slice(offset, offset + limit);
    let cont: string | undefined;
    if (offset + limit < snap.items.length) {
      const id = String(snapshots.size + 1);
      snapshots.set(id, snap);
      cont = `${id}:${offset + limit}`;
    }
    // Like the real server: items of a list carry neither kind nor apiVersion.
    const items = page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: `${opts.kind}List`,
        apiVersion: opts.apiVersion,
        metadata: { resourceVersion: String(snap.rv), ...(cont && { continue: cont }) },
        items,
      }),
    );
  }

  function watch(res: ServerResponse, query: Record<string, string>) {
    const behaviour = fake.nextWatches.shift();
    if (typeof behaviour === 'object') return status(res, behaviour.status, 'InternalError', 'scripted');
    const from = Number(query.resourceVersion);
    if (from < compactedAt && fake.goneAs === 'http') {
      return status(res, 410, 'Expired', `too old resource version: ${from} (${compactedAt})`);
    }
    const w = { res, ended: false };
    open.add(w);
    res.on('close', () => {
      watchers.delete(w);
      open.delete(w);
      if (!w.ended) clientClosed++;
    });
    if (behaviour === 'hang') return; // not even headers
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    if (behaviour === 'close') {
      w.ended = true;
      return res.end();
    }
    if (behaviour === 'silent') return; // accepted, and then nothing, ever
    if (from < compactedAt) {
      write(res, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: `too old resource version: ${from} (${compactedAt})`,
        },
      });
      w.ended = true;
      return res.end();
    }
    for (const ev of log) if (ev.rv > from) write(res, { type: ev.type, object: ev.object });
    watchers.add(w);
    const timeout = Number(query.timeoutSeconds);
    if (timeout > 0) {
      setTimeout(() => {
        w.ended = true;
        watchers.delete(w);
        res.end();
      }, timeout * 1000).unref();
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    requests.push({ path: url.pathname, query });
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (url.pathname !== opts.path) return status(res, 404, 'NotFound', `${url.pathname} not found`);
    if (query.watch === 'true' || query.watch === '1') return watch(res, query);
    list(res, query);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeApiServer = {
    url,
    requests,
    goneAs: 'event',
    nextWatches: [],
    nextLists: [],
    connection(token = TOKEN) {
      return createKubeConnection({
        server: url,
        source: 'fake API server',
        auth: { kind: 'token', token, tokenFile: undefined },
      });
    },
    watchRequests: () => requests.filter((r) => r.query.watch).map((r) => r.query),
    listRequests: () => requests.filter((r) => !r.query.watch && r.path === opts.path).map((r) => r.query),
    put(obj) {
      rv++;
      const k = key(obj);
      const existed = objects.has(k);
      const stored = copy(obj);
      stored.kind = opts.kind;
      stored.apiVersion = opts.apiVersion;
      stored.metadata = { ...stored.metadata, resourceVersion: String(rv) };
      objects.set(k, stored);
      emit(existed ? 'MODIFIED' : 'ADDED', stored);
      return copy(stored);
    },
    remove(namespace, name) {
      const k = `${namespace}/${name}`;
      const obj = objects.get(k);
      if (!obj) return;
      rv++;
      objects.delete(k);
      obj.metadata = { ...obj.metadata, resourceVersion: String(rv) };
      emit('DELETED', obj);
    },
    quietly(fn) {
      quiet = true;
      try {
        fn();
      } finally {
        quiet = false;
      }
    },
    compact() {
      compactedAt = rv;
      log = [];
    },
    bookmark() {
      rv++;
      for (const w of watchers) {
        write(w.res, {
          type: 'BOOKMARK',
          object: { kind: opts.kind, apiVersion: opts.apiVersion, metadata: { resourceVersion: String(rv) } },
        });
      }
      return String(rv);
    },
    endWatches() {
      for (const w of open) {
        w.ended = true;
        w.res.end();
      }
    },
    openWatches: () => open.size,
    get clientClosedWatches() {
      return clientClosed;
    },
    resourceVersion: () => String(rv),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
