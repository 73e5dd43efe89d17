import { setTimeout as sleep } from 'node:timers/promises';
import { exponentialBackoff } from './backoff.ts';
import type { KubeConnection } from './connection.ts';
import { equalIgnoringResourceVersion } from './equal.ts';
import { classifyKubeError, KubeError, KubeErrorCode } from './errors.ts';
import { listAll } from './list-all.ts';
import type { KubeLogger } from './logger.ts';
import type { KubeObject } from './object.ts';
import { type ResourceRef, resourceName, resourcePath } from './resource.ts';
import { createProjectionStore, type ReflectorEvent } from './store.ts';
import { ACCEPT_METADATA, ACCEPT_METADATA_LIST, createTransport, type KubeTransport } from './transport.ts';
import { watchOnce } from './watch-once.ts';

export interface ReflectorOptions<T> {
  /** The connection (loadKubeConfig); one keep-alive agent for every list and watch on it. */
  kc: KubeConnection;
  resource: ResourceRef;
  /**
   * Keeps what the caller needs of an object; `undefined` leaves the object out (and, if it was in,
   * reports it DELETED). Must not keep a reference to the whole object: that is the point. The
   * object is wire JSON (KubeObject): timestamps are strings, not Dates.
   */
  project: (obj: KubeObject) => T | undefined;
  logger: KubeLogger;
  /** Called synchronously, after projection, in order. Queue slow work; do not block. */
  onEvent?: (e: ReflectorEvent<T>) => void;
  /** MODIFIED is emitted only when this says the projections differ. Default: deep equality ignoring a top-level resourceVersion. */
  equal?: (a: T, b: T) => boolean;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Ask for PartialObjectMetadata (metadata only, any resource, CRs included): projections then
   * see `apiVersion`, `kind` and `metadata`, nothing of spec, status or a report's body.
   */
  metadataOnly?: boolean;
  /** LIST page size (limit). Default 500. */
  pageSize?: number;
  /** Server-side watch timeout; each request adds up to 20% jitter. Default 300. */
  watchTimeoutSeconds?: number;
  /**
   * A watch that delivers nothing, not even a bookmark, for this long is restarted. The API server
   * sends a bookmark about every minute to watches that allow them. Default 150 000.
   */
  staleAfterMs?: number;
  /** Delay before retry number `attempt` (0-based). Default exponential 500 ms → 30 s with jitter. */
  backoff?: (attempt: number) => number;
  /** Per LIST page. Default 60 000. */
  requestTimeoutMs?: number;
  /** Injected for tests; defaults to one built from `kc`. */
  transport?: KubeTransport;
  random?: () => number;
}

export interface Reflector<T> {
  /** Starts (or resumes, keeping the store and resourceVersion) the list+watch loop. Idempotent. */
  start(): void;
  /** Stops the loop and closes the watch; the store stays for a later start(). */
  stop(): Promise<void>;
  /** Resolves after the first complete LIST. Rejects with KubeError ABORTED if stopped before that. */
  readonly synced: Promise<void>;
  get(key: string): T | undefined;
  list(): T[];
  /** For /readyz: not ok before the first sync, while re-listing, reconnecting after errors or distrusting a silent watch. */
  health(): { ok: boolean; reason: string };
  /** The last resourceVersion seen (list, event or bookmark); '' before the first list. */
  resourceVersion(): string;
}

/** A watch that ends this fast without a line counts as a failure, so a flapping proxy cannot make us spin. */
const MIN_HEALTHY_WATCH_MS = 1000;

/**
 * A supervised list+watch keeping only projections. Unlike client-node's ListWatch it never gives
 * up (every failure is retried with backoff and shows in health()), pages its LIST, asks for
 * bookmarks, detects silent watches, and on 410 re-lists and emits the differences as events.
 */
export function createReflector<T>(opts: ReflectorOptions<T>): Reflector<T> {
  const name = resourceName(opts.resource);
  const path = resourcePath(opts.resource);
  const log = opts.logger;
  const transport = opts.transport ?? createTransport(opts.kc);
  const backoff = opts.backoff ?? exponentialBackoff();
  const random = opts.random ?? Math.random;
  const pageSize = opts.pageSize ?? 500;
  const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 300;
  const staleAfterMs = opts.staleAfterMs ?? 150_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
  const selectors = {
    ...(opts.labelSelector !== undefined && { labelSelector: opts.labelSelector }),
    ...(opts.fieldSelector !== undefined && { fieldSelector: opts.fieldSelector }),
  };

  const store = createProjectionStore<T>({
    project: opts.project,
    equal: opts.equal ?? equalIgnoringResourceVersion,
    emit(e) {
      if (!opts.onEvent) return;
      try {
        opts.onEvent(e);
      } catch (err) {
        log.error({ err, resource: name, key: e.key, type: e.type }, 'reflector onEvent handler threw');
      }
    },
    onProjectError(key, err) {
      log.error({ err, resource: name, key }, 'reflector projection threw; object left out');
    },
  });

  let rv = '';
  let needList = true;
  let hasSynced = false;
  let state = { ok: false, reason: 'not started' };
  let loop: Promise<void> | undefined;
  let abort: AbortController | undefined;
  let synced = deferred();
  /** The last failure, kept in health reasons until something succeeds, so /readyz says why. */
  let lastFailure: string | undefined;

  const setHealth = (ok: boolean, reason: string) => {
    state = { ok, reason };
  };

  async function relist(signal: AbortSignal): Promise<void> {
    const doing = hasSynced ? 're-listing' : 'initial list in progress';
    setHealth(false, `${name}: ${doing}${lastFailure ? `; last attempt: ${lastFailure}` : ''}`);
    const pass = store.beginList();
    const started = Date.now();
    const res = await listAll(transport, path, {
      pageSize,
      ...selectors,
      pageTimeoutMs: requestTimeoutMs,
      ...(opts.metadataOnly && { accept: ACCEPT_METADATA_LIST }),
      signal,
      onItem: (obj) => pass.upsert(obj),
    });
    pass.finish();
    lastFailure = undefined;
    rv = res.resourceVersion;
    needList = false;
    log.info(
      {
        resource: name,
        items: res.items,
        pages: res.pages,
        stored: store.size,
        resourceVersion: rv,
        ms: Date.now() - started,
      },
      hasSynced ? 'reflector re-listed' : 'reflector synced',
    );
    if (!hasSynced) {
      hasSynced = true;
      synced.resolve();
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    /** After silence, health waits for a line, not just a connection. */
    let distrust = false;
    let consecutiveGone = 0;
    while (!signal.aborted) {
      let phase = needList ? 'list' : 'watch';
      try {
        if (needList) await relist(signal);
        phase = 'watch';
        const started = Date.now();
        const end = await watchOnce(transport, path, {
          resourceVersion: rv,
          timeoutSeconds: Math.round(watchTimeoutSeconds * (1 + 0.2 * random())),
          staleAfterMs,
          ...selectors,
          ...(opts.metadataOnly && { accept: ACCEPT_METADATA }),
          signal,
          onConnected() {
            if (distrust) return;
            lastFailure = undefined;
            setHealth(true, 'watching');
          },
          onAlive() {
            // Events flow: earlier failures are over, and a restarted silent watch has earned trust.
            attempt = 0;
            distrust = false;
            lastFailure = undefined;
            setHealth(true, 'watching');
          },
          onChange(type, obj) {
            if (type === 'DELETED') store.remove(obj);
            else store.upsert(obj, 'watch');
            rv = obj.metadata?.resourceVersion || rv;
          },
          onBookmark(bookmarkRv) {
            rv = bookmarkRv;
          },
        });
        if (end.kind === 'gone') {
          log.info(
            { resource: name, resourceVersion: rv, message: end.message },
            'watch expired (410); re-listing',
          );
          needList = true;
          consecutiveGone++;
          if (consecutiveGone > 1) await sleep(backoff(consecutiveGone - 2), undefined, { signal });
          continue;
        }
        consecutiveGone = 0;
        if (end.kind === 'silent') {
          distrust = true;
          setHealth(false, `${name}: watch was silent for ${staleAfterMs} ms; restarted`);
          log.warn({ resource: name, resourceVersion: rv, staleAfterMs }, 'watch silent; restarting it');
          // Immediately the first time; repeated silence backs off like any other failure.
          if (attempt > 0) await sleep(backoff(attempt - 1), undefined, { signal });
          attempt++;
          continue;
        }
        if (end.lines === 0 && Date.now() - started < MIN_HEALTHY_WATCH_MS) {
          log.warn({ resource: name }, 'watch closed at once with nothing delivered; backing off');
          await sleep(backoff(attempt++), undefined, { signal });
        } else {
          attempt = 0;
          log.debug({ resource: name, resourceVersion: rv, lines: end.lines }, 'watch ended; resuming');
        }
      } catch (err) {
        if (signal.aborted) break;
        const e = classifyKubeError(err);
        if (e.code === KubeErrorCode.Gone) {
          // HTTP 410 on the watch, or an expired continue token while listing.
          log.info(
            { resource: name, phase, resourceVersion: rv, err: e.message },
            'resourceVersion gone (410); re-listing',
          );
          needList = true;
          consecutiveGone++;
          if (consecutiveGone > 1)
            await sleep(backoff(consecutiveGone - 2), undefined, { signal }).catch(() => {});
          continue;
        }
        const delay = Math.max(e.retryAfterMs ?? 0, backoff(attempt++));
        lastFailure = `${phase} failed (${e.code}): ${e.message}`;
        setHealth(false, `${name}: ${lastFailure}; retry ${attempt} in ${delay} ms`);
        log.warn(
          { resource: name, phase, code: e.code, status: e.status, err: e.message, attempt, delayMs: delay },
          'reflector retrying',
        );
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  return {
    start() {
      if (loop) return;
      const ac = new AbortController();
      abort = ac;
      setHealth(false, hasSynced ? `${name}: resuming` : `${name}: starting`);
      log.debug({ resource: name, resourceVersion: rv }, 'reflector starting');
      loop = run(ac.signal).catch((err: unknown) => {
        // run() only ends by abort; anything else is a bug worth seeing.
        log.error({ err, resource: name }, 'reflector loop crashed');
        setHealth(false, `${name}: crashed: ${(err as Error).message}`);
      });
    },
    async stop() {
      const running = loop;
      if (!running) return;
      abort?.abort();
      await running;
      loop = undefined;
      abort = undefined;
      setHealth(false, `${name}: stopped`);
      if (!hasSynced) {
        synced.reject(new KubeError(KubeErrorCode.Aborted, `${name}: stopped before the first sync`));
        synced = deferred();
      }
    },
    get synced() {
      return synced.promise;
    },
    get: (key) => store.get(key),
    list: () => store.list(),
    health: () => ({ ...state }),
    resourceVersion: () => rv,
  };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting when it is rejected on stop(); that is not an unhandled failure.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
