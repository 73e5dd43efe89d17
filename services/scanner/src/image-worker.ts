import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BlobStore,
  CONSUMER_SCAN_IMAGE,
  decode,
  encode,
  type ImageScanData,
  ImageScanDataSchema,
  type ImageScanRequest,
  ImageScanRequestSchema,
  type ImageScanResult,
  ImageScanResultSchema,
  isBusError,
  STREAM_SCAN,
  subjects,
} from '@fleetscan/bus';
import { backoff, type Clock, type Logger } from '@fleetscan/service';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { resolveDigest } from './digest.ts';
import type { ScanEngine } from './engine.ts';
import { classifyFailure } from './failure.ts';
import { keepAlive } from './keepalive.ts';
import type { ScannerMetrics } from './metrics.ts';

export interface ImageWorkerDeps {
  js: JetStreamClient;
  blobs: BlobStore;
  locks: KV;
  engine: ScanEngine;
  resolve: typeof resolveDigest;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  insecureRegistries: readonly string[];
  replica: string;
}

/** A lock not refreshed for this long belongs to a replica that died. */
const LOCK_STALE_MS = 20_000;

/** Cache key: the same digest scanned with the same DB and settings gives the same result. */
export function imageCacheKey(digest: string, dbUpdatedAt: string, scanConfigHash: string): string {
  return `image/${digest.replace(':', '-')}/${dbUpdatedAt.replace(/[^0-9A-Za-z]/g, '')}/${scanConfigHash}`;
}

export function createImageWorker(d: ImageWorkerDeps) {
  const inflight = new Map<string, Promise<void>>();
  const abort = new AbortController();

  /**
   * Takes the digest's lock, or waits while another replica holds it (its
   * result lands in the cache). A holder refreshes its lock; one that died
   * stops refreshing and its lock is taken over after LOCK_STALE_MS.
   */
  async function acquire(lockKey: string, key: string): Promise<'acquired' | 'cached'> {
    for (;;) {
      if (abort.signal.aborted) throw new Error('shutting down');
      try {
        await d.locks.create(lockKey, d.replica);
        return 'acquired';
      } catch {
        // held (or just released): look at it
      }
      const e = await d.locks.get(lockKey);
      if (e && e.operation === 'PUT' && d.clock.now().getTime() - e.created.getTime() > LOCK_STALE_MS) {
        try {
          await d.locks.update(lockKey, d.replica, e.revision);
          return 'acquired';
        } catch {
          continue;
        }
      }
      if (await d.blobs.has(key)) return 'cached';
      await sleep(500);
    }
  }

  async function scanOnce(key: string, req: ImageScanRequest, digest: string, db: string): Promise<boolean> {
    // One trivy run per digest on this replica; concurrent requests wait for it.
    const running = inflight.get(key);
    if (running) {
      await running;
      return false;
    }
    const lockKey = `img.${key.replace(/[^0-9A-Za-z_-]/g, '_')}`;
    let ran = false;
    const p = (async () => {
      if ((await acquire(lockKey, key)) === 'cached') return;
      const refresh = setInterval(
        () => void d.locks.put(lockKey, d.replica).catch(() => {}),
        LOCK_STALE_MS / 4,
      );
      d.metrics.inFlight.inc({ type: 'image' });
      d.metrics.trivyRuns.inc({ type: 'image' });
      const end = d.metrics.duration.startTimer({ type: 'image' });
      try {
        const out = await d.engine.scanImage(req.image, { scanners: req.scanners, signal: abort.signal });
        const data: ImageScanData = {
          ...out,
          artifact: { ...out.artifact, digest },
          scannedAt: d.clock.now().toISOString(),
          dbUpdatedAt: db,
        };
        await d.blobs.put(ImageScanDataSchema, key, data);
        ran = true;
      } finally {
        clearInterval(refresh);
        end();
        d.metrics.inFlight.dec({ type: 'image' });
        await d.locks.delete(lockKey).catch(() => {});
      }
    })();
    inflight.set(key, p);
    try {
      await p;
      return ran;
    } finally {
      inflight.delete(key);
    }
  }

  async function publish(m: JsMsg, result: ImageScanResult): Promise<void> {
    const id = m.headers?.get('Nats-Msg-Id') || `${m.info.stream}.${m.seq}`;
    await d.js.publish(subjects.resultImage(result.cluster), encode(ImageScanResultSchema, result), {
      msgID: `r.${id}.${m.info.deliveryCount}`,
    });
  }

  async function handle(m: JsMsg): Promise<void> {
    let req: ImageScanRequest;
    try {
      req = decode(ImageScanRequestSchema, m.data);
    } catch (err) {
      const reason = isBusError(err) ? err.message : String(err);
      d.metrics.requests.inc({ type: 'image', outcome: 'invalid' });
      d.metrics.failures.inc({ type: 'image', reason: 'INVALID_MESSAGE' });
      d.logger.warn({ subject: m.subject, seq: m.seq, reason }, 'terminating invalid image scan request');
      m.term(reason);
      return;
    }
    const log = d.logger.child({ image: req.image, cluster: req.cluster, delivery: m.info.deliveryCount });
    const stop = keepAlive([m], d.ackWaitMs / 3);
    const base = {
      v: 1 as const,
      cluster: req.cluster,
      namespace: req.namespace,
      image: req.image,
      scanConfigHash: req.scanConfigHash,
    };
    try {
      const resolved = req.digest
        ? { digest: req.digest }
        : await d.resolve(req.image, { insecureRegistries: d.insecureRegistries });
      const db = await d.engine.dbUpdatedAt();
      const key = imageCacheKey(resolved.digest, db, req.scanConfigHash);
      let ran = false;
      if (await d.blobs.has(key)) {
        d.metrics.cache.inc({ result: 'hit' });
      } else {
        d.metrics.cache.inc({ result: 'miss' });
        ran = await scanOnce(key, req, resolved.digest, db);
      }
      await publish(m, {
        ...base,
        digest: resolved.digest,
        status: 'ok',
        blob: key,
        cached: !ran,
        finishedAt: d.clock.now().toISOString(),
      });
      d.metrics.requests.inc({ type: 'image', outcome: ran ? 'scanned' : 'cached' });
      log.info({ digest: resolved.digest, cached: !ran }, 'image scan result published');
      m.ack();
    } catch (err) {
      if (abort.signal.aborted) {
        // Shutting down: hand the message to another replica now rather than after ack_wait.
        m.nak();
        return;
      }
      const f = classifyFailure(err);
      d.metrics.failures.inc({ type: 'image', reason: f.code });
      const lastTry = m.info.deliveryCount >= d.maxDeliver;
      if (!f.permanent && !lastTry) {
        const delay = backoff(m.info.deliveryCount - 1, 1000, 60_000);
        log.warn({ err: f.message, code: f.code, retryInMs: delay }, 'image scan failed; will retry');
        d.metrics.requests.inc({ type: 'image', outcome: 'retried' });
        m.nak(delay);
        return;
      }
      log.warn({ err: f.message, code: f.code }, 'image scan failed permanently; publishing error result');
      await publish(m, {
        ...base,
        status: 'error',
        cached: false,
        error: f,
        finishedAt: d.clock.now().toISOString(),
      }).then(
        () => m.ack(),
        () => m.nak(5000),
      );
      d.metrics.requests.inc({ type: 'image', outcome: 'error' });
    } finally {
      stop();
    }
  }

  return {
    /** Runs `concurrency` pull loops until stop(); each holds at most one message. */
    async run(): Promise<void> {
      const consumer = await d.js.consumers.get(STREAM_SCAN, CONSUMER_SCAN_IMAGE);
      const loop = async () => {
        while (!abort.signal.aborted) {
          let m: JsMsg | null = null;
          try {
            m = await consumer.next({ expires: 2000 });
          } catch (err) {
            d.logger.warn({ err: String(err) }, 'pull from scan-image failed; retrying');
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          if (m) await handle(m);
        }
      };
      await Promise.all(Array.from({ length: d.concurrency }, loop));
    },
    /** Stops pulling and kills running trivy processes; their messages go back to the stream. */
    stop(): void {
      abort.abort();
    },
  };
}
