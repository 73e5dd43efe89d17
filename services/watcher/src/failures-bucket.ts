import { setTimeout as sleep } from 'node:timers/promises';
import {
  bounded,
  type FailureView,
  failuresBucket,
  isNotFound,
  readFailures,
  type ScanFailureRecord,
} from '@fleetscan/bus';
import { backoff, type Logger, type Timers } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';

const LOAD_WAIT_MS = 30_000;

/**
 * The watcher's read-only view of its cluster's failures bucket, which the scanners make when the
 * cluster's watcher or writer asks. Until it exists there are no failures: `opened` resolves at once
 * and the bucket is looked for again with backoff. Once it exists, `opened` resolves when its records
 * are loaded, so the first evaluation after a restart already holds what the writer recorded. Deleted
 * later, `onGone` is told and the view follows the bucket made again from its start.
 */
export function followFailures(d: {
  js: JetStreamClient;
  cluster: string;
  timers: Timers;
  logger: Pick<Logger, 'info' | 'warn'>;
  onState(ok: boolean, detail: string): void;
  /** A record appeared or changed (a failed round). */
  onRecord?(record: ScanFailureRecord): void;
  /** A record went (the image scanned, or someone deleted it). */
  onRemoved?(record: ScanFailureRecord): void;
  onFailure?(): void;
  /** The bucket went after it was opened (deleted by an operator): ask for it again. */
  onGone?(why: string): void;
  random?: () => number;
}): {
  get(namespace: string, image: string): ScanFailureRecord | undefined;
  readonly size: number;
  /** Resolves once the first look for the bucket ended (found and loaded, or absent). */
  readonly opened: Promise<void>;
  stop(): Promise<void>;
} {
  const bucket = failuresBucket(d.cluster);
  const abort = new AbortController();
  let view: FailureView | undefined;
  let markOpened!: () => void;
  const opened = new Promise<void>((resolve) => {
    markOpened = resolve;
  });
  const loop = (async () => {
    const jsm = await d.js.jetstreamManager(false);
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      try {
        await jsm.streams.info(`KV_${bucket}`);
        // Direct gets of the bucket's stream, not a KV watch: the watcher's identity may create no
        // consumer (a create's body could ask for push delivery to any subject).
        view = readFailures({
          direct: jsm.direct,
          // Deleted and made again, the view starts over from the new stream (readFailures).
          streams: jsm.streams,
          bucket,
          timers: d.timers,
          logger: d.logger,
          onChange: (_key, record, previous) => {
            if (record) d.onRecord?.(record);
            else if (previous) d.onRemoved?.(previous);
          },
          ...(d.onFailure && { onFailure: d.onFailure }),
          ...(d.onGone && { onGone: d.onGone }),
        });
        // Bounded: a bucket that cannot be read must not keep the watcher from asking for anything.
        const loaded = await Promise.race([
          view.loaded.then(() => true),
          sleep(LOAD_WAIT_MS, false, { signal: abort.signal }).catch(() => false),
        ]);
        d.onState(loaded, loaded ? 'loaded' : `${bucket} not loaded after ${LOAD_WAIT_MS / 1000} s`);
        markOpened();
        return;
      } catch (err) {
        if (isNotFound(err)) d.onState(true, `${bucket} absent: no scan failures yet`);
        else {
          d.onFailure?.();
          d.onState(false, `cannot open ${bucket}: ${bounded((err as Error).message, 200)}`);
          d.logger.warn({ err: bounded((err as Error).message) }, 'cannot open the scan failures bucket');
        }
        markOpened();
      }
      await sleep(backoff(attempt, 1000, 60_000, d.random), undefined, { signal: abort.signal }).catch(
        () => {},
      );
    }
  })();
  return {
    get: (namespace, image) => view?.get(namespace, image)?.record,
    get size() {
      return view?.size ?? 0;
    },
    opened,
    async stop() {
      abort.abort();
      markOpened();
      await loop.catch(() => {});
      await view?.stop();
    },
  };
}
