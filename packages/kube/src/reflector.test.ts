import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKubeError, KubeErrorCode } from './errors.ts';
import type { KubeLogger } from './logger.ts';
import type { KubeObject } from './object.ts';
import { createReflector, type Reflector, type ReflectorOptions } from './reflector.ts';
import type { ReflectorEvent } from './store.ts';
import { type FakeApiServer, startFakeApiServer } from './testing/fake-apiserver.ts';

interface Proj {
  name: string;
  uid: string;
  resourceVersion: string;
  image: string;
}

const silent: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };

const pod = (
  name: string,
  image = 'nginx:1',
  uid = `uid-${name}`,
  extra: Record<string, unknown> = {},
): KubeObject =>
  ({
    metadata: { name, namespace: 'ns', uid },
    spec: { containers: [{ name: 'c', image }] },
    ...extra,
  }) as KubeObject;

const project = (obj: KubeObject): Proj | undefined => {
  const spec = (obj as { spec?: { containers?: { image: string }[] } }).spec;
  if (obj.metadata?.labels?.skip) return undefined;
  return {
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid ?? '',
    resourceVersion: obj.metadata?.resourceVersion ?? '',
    image: spec?.containers?.[0]?.image ?? '',
  };
};

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const brief = (e: ReflectorEvent<Proj>) => `${e.source}:${e.type}:${e.key}`;

let server: FakeApiServer;
let events: ReflectorEvent<Proj>[];
let reflector: Reflector<Proj> | undefined;

beforeEach(async () => {
  server = await startFakeApiServer({ path: '/api/v1/pods', kind: 'Pod', apiVersion: 'v1' });
  events = [];
});

afterEach(async () => {
  await reflector?.stop();
  reflector = undefined;
  await server.close();
});

function start(overrides: Partial<ReflectorOptions<Proj>> = {}): Reflector<Proj> {
  reflector = createReflector<Proj>({
    kc: server.connection(),
    resource: { group: '', version: 'v1', plural: 'pods' },
    project,
    logger: silent,
    onEvent: (e) => events.push(e),
    backoff: () => 10,
    staleAfterMs: 5000,
    ...overrides,
  });
  reflector.start();
  return reflector;
}

describe('reflector: list then watch', () => {
  it('lists in pages, emits ADDED for each, then watches from the list resourceVersion with bookmarks and a timeout', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) server.put(pod(n));
    const listRv = server.resourceVersion();
    const r = start({ pageSize: 2, watchTimeoutSeconds: 60 });
    expect(r.health().ok).toBe(false);
    await r.synced;
    await until('watch open', () => server.openWatches() === 1);
    // The server counts the watch when it gets the request; the reflector knows once it gets the answer.
    await until('reflector watching', () => r.health().ok);

    expect(server.listRequests()).toEqual([
      { limit: '2' },
      { limit: '2', continue: '1:2' },
      { limit: '2', continue: '2:4' },
    ]);
    const [watch] = server.watchRequests();
    expect(watch).toMatchObject({ watch: 'true', resourceVersion: listRv, allowWatchBookmarks: 'true' });
    expect(Number(watch?.timeoutSeconds)).toBeGreaterThanOrEqual(60);
    expect(Number(watch?.timeoutSeconds)).toBeLessThanOrEqual(72);
    expect(events.map(brief)).toEqual(['a', 'b', 'c', 'd', 'e'].map((n) => `list:ADDED:ns/${n}`));
    expect(r.list().map((p) => p.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.get('ns/c')).toMatchObject({ name: 'c', image: 'nginx:1' });
    expect(r.health()).toEqual({ ok: true, reason: 'watching' });
    expect(r.resourceVersion()).toBe(listRv);
  });

  it('applies live events and skips a MODIFIED whose projection did not change', async () => {
    server.put(pod('a'));
    const r = start();
    await r.synced;
    await until('watch open', () => server.openWatches() === 1);
    events.length = 0;

    server.put(pod('b'));
    server.put(pod('a', 'nginx:2'));
    // Only status changes: same projection apart from resourceVersion.
    server.put(pod('a', 'nginx:2', 'uid-a', { status: { phase: 'Running' } }));
    server.put(
      pod('b', 'nginx:1', 'uid-b', {
        metadata: { name: 'b', namespace: 'ns', uid: 'uid-b', labels: { skip: 'y' } },
      }),
    );
    server.remove('ns', 'a');
    await until('events', () => events.length >= 4);
    await sleep(50);

    expect(events.map(brief)).toEqual([
      'watch:ADDED:ns/b',
      'watch:MODIFIED:ns/a',
      // b was projected away by its label: gone, as far as consumers can tell.
      'watch:DELETED:ns/b',
      'watch:DELETED:ns/a',
    ]);
    expect(events[1]).toMatchObject({ obj: { image: 'nginx:2' }, old: { image: 'nginx:1' } });
    expect(r.list()).toEqual([]);
    expect(r.resourceVersion()).toBe(server.resourceVersion());
  });

  it('resumes from the last resourceVersion, bookmarks included, when the watch ends normally', async () => {
    server.put(pod('a'));
    const r = start();
    await r.synced;
    await until('watch open', () => server.openWatches() === 1);

    const bookmarkRv = server.bookmark();
    await until('bookmark applied', () => r.resourceVersion() === bookmarkRv);
    server.endWatches();
    await until('second watch', () => server.watchRequests().length === 2);

    expect(server.watchRequests()[1]?.resourceVersion).toBe(bookmarkRv);
    expect(server.listRequests()).toHaveLength(1);
    expect(events.map(brief)).toEqual(['list:ADDED:ns/a']);
    expect(r.health().ok).toBe(true);
  });
});

describe('reflector: 410 Gone', () => {
  for (const goneAs of ['event', 'http'] as const) {
    it(`re-lists on 410 as ${goneAs === 'event' ? 'an ERROR event' : 'an HTTP status'} and emits the differences`, async () => {
      server.goneAs = goneAs;
      for (const n of ['a', 'b', 'c']) server.put(pod(n));
      const r = start();
      await r.synced;
      await until('watch open', () => server.openWatches() === 1);
      events.length = 0;

      // Changes the watch never sees, then history is compacted past the reflector's resourceVersion.
      server.quietly(() => {
        server.put(pod('a', 'nginx:2'));
        server.remove('ns', 'b');
        server.put(pod('d'));
        server.put(pod('c', 'nginx:1', 'uid-c2')); // deleted and re-created under the same name
      });
      server.compact();
      server.endWatches();
      await until('re-list', () => server.listRequests().length === 2);
      await until('watch open again', () => server.openWatches() === 1 && r.health().ok);

      expect(events.map(brief).sort()).toEqual(
        [
          'list:MODIFIED:ns/a',
          'list:DELETED:ns/b',
          'list:ADDED:ns/d',
          'list:DELETED:ns/c',
          'list:ADDED:ns/c',
        ].sort(),
      );
      expect(events.find((e) => e.key === 'ns/c' && e.type === 'ADDED')?.obj.uid).toBe('uid-c2');
      expect(
        r
          .list()
          .map((p) => p.name)
          .sort(),
      ).toEqual(['a', 'c', 'd']);
      expect(r.resourceVersion()).toBe(server.resourceVersion());
      const watches = server.watchRequests();
      expect(watches.at(-1)?.resourceVersion).toBe(server.resourceVersion());
    });
  }

  it('starts the list over when a continue token expires mid-list', async () => {
    for (const n of ['a', 'b', 'c']) server.put(pod(n));
    server.nextLists.push('ok', 'expire-continue'); // page 1 served, page 2's token refused
    const r = start({ pageSize: 2 });
    await r.synced;
    expect(server.listRequests()).toEqual([
      { limit: '2' },
      { limit: '2', continue: '1:2' },
      { limit: '2' },
      { limit: '2', continue: '2:2' },
    ]);
    expect(events.map(brief)).toEqual(['list:ADDED:ns/a', 'list:ADDED:ns/b', 'list:ADDED:ns/c']);
    expect(r.list()).toHaveLength(3);
  });
});

describe('reflector: supervision', () => {
  it('restarts a silent watch, distrusts it until something arrives, and never loses events', async () => {
    server.put(pod('a'));
    server.nextWatches.push('silent');
    // Long enough that a busy machine still looks at the first watch before it is declared silent.
    const r = start({ staleAfterMs: 1500 });
    await r.synced;
    await until('silent watch open', () => server.openWatches() === 1);
    // Connected but nothing delivered yet: trusted for now.
    expect(r.health().ok).toBe(true);

    await until('second watch', () => server.watchRequests().length === 2, 10_000);
    expect(server.clientClosedWatches).toBe(1);
    expect(server.watchRequests()[1]?.resourceVersion).toBe(server.watchRequests()[0]?.resourceVersion);
    await until('new watch open', () => server.openWatches() === 1);
    expect(r.health().ok).toBe(false);
    expect(r.health().reason).toMatch(/silent/);

    server.put(pod('b'));
    await until('event after restart', () => events.some((e) => e.key === 'ns/b'));
    expect(r.health()).toEqual({ ok: true, reason: 'watching' });
    expect(server.listRequests()).toHaveLength(1);
  });

  it('treats a watch that never answers (no headers) as silent too', async () => {
    server.put(pod('a'));
    const r = start({ staleAfterMs: 200 });
    await r.synced;
    await until('watch open', () => server.openWatches() === 1);
    server.nextWatches.push('hang', 'hang');
    server.endWatches();
    await until('fourth watch', () => server.watchRequests().length === 4, 3000);
    expect(server.clientClosedWatches).toBe(2);
    await until('healthy again', () => r.health().ok === false);
    server.put(pod('b'));
    await until('event after two hung watches', () => events.some((e) => e.key === 'ns/b'));
    expect(r.health().ok).toBe(true);
  });

  it('retries HTTP errors with backoff, reports them in health, then recovers', async () => {
    server.put(pod('a'));
    server.nextWatches.push({ status: 500 }, { status: 503 });
    const seen: string[] = [];
    const r = start({ backoff: () => 150 });
    await r.synced;
    await until('an error in health', () => {
      const h = r.health();
      if (!h.ok) seen.push(h.reason);
      return seen.some((s) => s.includes('TRANSIENT'));
    });
    expect(seen.find((s) => s.includes('TRANSIENT'))).toMatch(
      /pods: watch failed \(TRANSIENT\): HTTP 50[03]/,
    );
    await until('recovered', () => r.health().ok && server.watchRequests().length === 3);
    server.put(pod('b'));
    await until('event', () => events.some((e) => e.key === 'ns/b'));
  });

  it('backs off when watches end at once with nothing delivered, instead of spinning', async () => {
    server.put(pod('a'));
    server.nextWatches.push('close', 'close', 'close');
    const r = start({ backoff: () => 200 });
    await r.synced;
    const t0 = Date.now();
    await until('the fourth watch', () => server.watchRequests().length === 4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 200 - 50);
    server.put(pod('b'));
    await until('events flow again', () => events.some((e) => e.key === 'ns/b'));
    expect(r.health().ok).toBe(true);
  });

  it('keeps retrying when unauthorized, with the reason in health', async () => {
    server.put(pod('a'));
    const r = start({ kc: server.connection('wrong') });
    await until('several attempts', () => server.listRequests().length >= 3);
    expect(r.health()).toMatchObject({ ok: false });
    expect(r.health().reason).toMatch(/list failed \(UNAUTHORIZED\)/);
  });

  it('stop() closes the watch; start() resumes from the last resourceVersion without re-listing or duplicate ADDED', async () => {
    for (const n of ['a', 'b']) server.put(pod(n));
    const r = start();
    await r.synced;
    await until('watch open', () => server.openWatches() === 1);
    await r.stop();
    await until('the server to see the watch closed', () => server.openWatches() === 0);
    expect(server.clientClosedWatches).toBe(1);
    expect(r.health()).toEqual({ ok: false, reason: 'pods: stopped' });

    server.put(pod('a', 'nginx:2'));
    r.start();
    await until('modified after resume', () => events.some((e) => e.type === 'MODIFIED'));
    expect(events.map(brief)).toEqual(['list:ADDED:ns/a', 'list:ADDED:ns/b', 'watch:MODIFIED:ns/a']);
    expect(server.listRequests()).toHaveLength(1);
    expect(r.list()).toHaveLength(2);
  });

  it('rejects synced with ABORTED when stopped before the first list', async () => {
    server.nextLists.push({ status: 500 }, { status: 500 }, { status: 500 });
    const r = start({ backoff: () => 1000 });
    await until('a failed list', () => server.listRequests().length >= 1);
    const synced = r.synced;
    await r.stop();
    const err = await synced.catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Aborted)).toBe(true);
  });

  it('survives a throwing onEvent handler', async () => {
    server.put(pod('a'));
    const r = start({
      onEvent: (e) => {
        events.push(e);
        throw new Error('handler bug');
      },
    });
    await r.synced;
    server.put(pod('b'));
    await until('second event', () => events.length === 2);
    expect(r.health().ok).toBe(true);
  });
});
