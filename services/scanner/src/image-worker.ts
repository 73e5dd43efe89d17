import {
  type BlobStore,
  CONSUMER_SCAN_IMAGE,
  decode,
  encode,
  type ImageScanRequest,
  ImageScanRequestSchema,
  type ImageScanResult,
  ImageScanResultSchema,
  isBusError,
  type RegistryCredentials,
  STREAM_SCAN,
  subjects,
} from '@fleetscan/bus';
import { backoff, type Clock, type Logger } from '@fleetscan/service';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { ScannerPrivateKey } from './config.ts';
import { openRequestCredentials } from './credentials.ts';
import type { checkAccess, resolveDigest } from './digest.ts';
import type { ScanEngine } from './engine.ts';
import { classifyFailure } from './failure.ts';
import { createImageScans } from './image-scan.ts';
import { keepAlive } from './keepalive.ts';
import type { ScannerMetrics } from './metrics.ts';

export interface ImageWorkerDeps {
  js: JetStreamClient;
  blobs: BlobStore;
  locks: KV;
  engine: ScanEngine;
  resolve: typeof resolveDigest;
  checkAccess: typeof checkAccess;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  insecureRegistries: readonly string[];
  replica: string;
  /** Opens requests' sealed registry credentials; without it such requests fail with CREDENTIALS. */
  privateKey?: ScannerPrivateKey | undefined;
}

/**
 * The bus edge of image scans: decode, open credentials, resolve the digest, let image-scan.ts
 * produce the result, publish it; then ack, nak with backoff (transient) or publish an error
 * result (permanent, or out of deliveries). Credentials live in this function's scope only.
 */
export function createImageWorker(d: ImageWorkerDeps) {
  const abort = new AbortController();
  const scans = createImageScans({
    blobs: d.blobs,
    locks: d.locks,
    engine: d.engine,
    checkAccess: (image, digest, credentials) =>
      d.checkAccess(image, digest, {
        insecureRegistries: d.insecureRegistries,
        ...(credentials && { credentials }),
      }),
    metrics: d.metrics,
    logger: d.logger,
    clock: d.clock,
    replica: d.replica,
    signal: abort.signal,
  });

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
    const log = d.logger.child({
      image: req.image,
      cluster: req.cluster,
      namespace: req.namespace,
      delivery: m.info.deliveryCount,
    });
    const stop = keepAlive([m], d.ackWaitMs / 3);
    const base = {
      v: 1 as const,
      cluster: req.cluster,
      namespace: req.namespace,
      image: req.image,
      scanConfigHash: req.scanConfigHash,
    };
    let credentials: RegistryCredentials | undefined;
    try {
      credentials = openRequestCredentials(req, d.privateKey);
      const resolved = req.digest
        ? { digest: req.digest, checked: false }
        : await d.resolve(req.image, {
            insecureRegistries: d.insecureRegistries,
            ...(credentials && { credentials }),
          });
      const db = await d.engine.dbUpdatedAt();
      const out = await scans.produce({
        req,
        digest: resolved.digest,
        db,
        ...(credentials && { credentials }),
        accessChecked: resolved.checked,
      });
      await publish(m, {
        ...base,
        digest: resolved.digest,
        status: 'ok',
        blob: out.key,
        cached: out.how === 'cached',
        scannedAt: out.scannedAt,
        finishedAt: d.clock.now().toISOString(),
      });
      d.metrics.requests.inc({ type: 'image', outcome: out.how });
      log.info(
        {
          digest: resolved.digest,
          how: out.how,
          access: out.access,
          dbUpdatedAt: db,
          scannedAt: out.scannedAt,
        },
        'image scan result published',
      );
      m.ack();
    } catch (err) {
      if (abort.signal.aborted) {
        // Shutting down: hand the message to another replica now rather than after ack_wait.
        m.nak();
        return;
      }
      const f = classifyFailure(err, credentials ? [credentials.password] : []);
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
        ...(req.digest && { digest: req.digest }),
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
      credentials = undefined;
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
