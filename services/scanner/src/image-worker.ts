import {
  type BlobStore,
  BusErrorCode,
  bounded,
  canonicalScanSettings,
  type DeadLetters,
  type Delivery,
  encode,
  ImageScanDataSchema,
  type ImageScanRequest,
  ImageScanRequestSchema,
  type ImageScanResult,
  ImageScanResultSchema,
  isBusError,
  laneOf,
  type Outcome,
  type RegistryCredentials,
  subjects,
} from '@fleetscan/bus';
import type { Clock, Logger } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { ScannerPrivateKey } from './config.ts';
import { openRequestCredentials } from './credentials.ts';
import type { checkAccess, resolveDigest } from './digest.ts';
import type { ScanEngine } from './engine.ts';
import { classifyFailure, endsWithError } from './failure.ts';
import type { FindingsInput, FindingsPublisher } from './fleet-findings.ts';
import { createImageScans } from './image-scan.ts';
import type { ScannerMetrics } from './metrics.ts';
import { carry } from './result-payload.ts';
import { copySbom } from './sbom-copy.ts';
import { createScanLanes } from './scan-lanes.ts';

export interface ImageWorkerDeps {
  js: JetStreamClient;
  blobs: BlobStore;
  /** The results bucket of a cluster: where its results too large for a message go. */
  resultsBucket(cluster: string): Promise<BlobStore>;
  locks: KV;
  engine: ScanEngine;
  resolve: typeof resolveDigest;
  checkAccess: typeof checkAccess;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  /** Scans at once in each lane (urgent and bulk have their own). */
  concurrency: number;
  insecureRegistries: readonly string[];
  replica: string;
  /** Opens requests' sealed registry credentials; without it such requests fail with CREDENTIALS. */
  privateKey?: ScannerPrivateKey | undefined;
  /**
   * The most one request may take, all steps together (digest lookup, lock waits, every trivy run,
   * stores): past it the request's work is aborted and it counts as a TIMEOUT failure.
   */
  requestTimeoutMs: number;
  /**
   * Deliveries of a request that fails transiently before its error result goes out (SCAN_ATTEMPTS):
   * a failure is visible in seconds, and the writer's record and the watcher's backoff take over
   * the retrying from there (one chain per image, surviving restarts).
   */
  scanAttempts: number;
  /** The server's max_payload: a result that would not fit goes to the cluster's results bucket. */
  maxPayload: number;
  deadLetters?: DeadLetters;
  /** The fleet stream's findings (issue 15); none in tests that do not look at the fleet view. */
  findings?: FindingsPublisher;
}

/**
 * The handler of image scan requests: open credentials, resolve the digest, let image-scan.ts
 * produce the result, publish it. A transient failure is retried (consume() decides when) until
 * delivery `scanAttempts`; a permanent one, or a transient one on that delivery, is published as
 * an error result. Credentials live
 * in the handler's scope only.
 *
 * Each lane has its own consumer and its own `concurrency` slots: an urgent request never waits
 * for bulk work (a refresh of the whole fleet) to end, and bulk work goes on meanwhile.
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

  /** The result goes out in the lane its request came in. */
  async function publish(req: ImageScanRequest, at: Delivery, result: Uint8Array): Promise<void> {
    await d.js.publish(subjects.resultImage(req.cluster, laneOf(at.subject)), result, {
      msgID: `r.${at.id}.${at.delivery}`,
    });
  }

  /**
   * After the result: the fleet view is told what the image holds. A failure here fails neither the
   * request nor its report (the result is out); it is counted, and the next answer for the image
   * publishes its findings again.
   */
  async function publishFindings(input: Omit<FindingsInput, 'now'>): Promise<void> {
    if (!d.findings) return;
    try {
      await d.findings.publish({ ...input, now: d.clock.now() });
    } catch (err) {
      d.metrics.failures.inc({ type: 'image', reason: 'FLEET_FINDINGS', cluster: input.cluster });
      d.logger.warn(
        { err: bounded((err as Error).message), cluster: input.cluster },
        'cannot publish fleet findings',
      );
    }
  }

  async function handle(req: ImageScanRequest, at: Delivery): Promise<Outcome> {
    // Requests come from other services (and whoever else can publish): bound what reaches the log.
    const log = d.logger.child({
      image: bounded(req.image, 300),
      cluster: req.cluster,
      namespace: req.namespace,
      delivery: at.delivery,
    });
    // Echoed for the writer: which owners the result is for, and what their reports show.
    const { reportFields } = canonicalScanSettings(req.scanners, req.settings).report;
    const base = {
      v: 1 as const,
      cluster: req.cluster,
      namespace: req.namespace,
      ...(req.ownerFilter && { ownerFilter: req.ownerFilter }),
      image: req.image,
      scanConfigHash: req.scanConfigHash,
      ...(reportFields && { reportFields }),
      requestedAt: req.requestedAt,
    };
    let credentials: RegistryCredentials | undefined;
    try {
      credentials = openRequestCredentials(req, d.privateKey);
      const resolved = req.digest
        ? { digest: req.digest, checked: false }
        : await d.resolve(req.image, {
            insecureRegistries: d.insecureRegistries,
            ...(credentials && { credentials }),
            signal: at.signal,
          });
      const db = await d.engine.dbUpdatedAt();
      const out = await scans.produce({
        req,
        digest: resolved.digest,
        db,
        ...(credentials && { credentials }),
        accessChecked: resolved.checked,
        signal: at.signal,
        background: laneOf(at.subject) === 'bulk',
      });
      const sbomBlob = await copySbom({
        blobs: d.blobs,
        bucket: () => d.resultsBucket(req.cluster),
        key: out.sbomKey,
      });
      const ok = {
        ...base,
        digest: resolved.digest,
        status: 'ok' as const,
        ...(sbomBlob && { sbomBlob }),
        cached: out.how === 'cached',
        scannedAt: out.scannedAt,
        finishedAt: d.clock.now().toISOString(),
      };
      const result = await carry({
        schema: ImageScanDataSchema,
        data: out.data,
        key: out.key,
        bucket: () => d.resultsBucket(req.cluster),
        message: (payload) => encode(ImageScanResultSchema, { ...ok, ...payload }),
        maxPayload: d.maxPayload,
      });
      await publish(req, at, result);
      await publishFindings({
        cluster: req.cluster,
        namespace: req.namespace,
        image: req.image,
        digest: resolved.digest,
        data: out.data,
      });
      d.metrics.requests.inc({ type: 'image', outcome: out.how, cluster: req.cluster });
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
      return { kind: 'ack' };
    } catch (err) {
      // Stopping (trivy was killed): the message goes back to the stream for another replica.
      if (isBusError(at.signal.reason, BusErrorCode.Stopping)) return { kind: 'retry', reason: 'stopping' };
      // Past the request's bound, whatever step it was in: a timeout, retried like one.
      const f = isBusError(at.signal.reason, BusErrorCode.Deadline)
        ? {
            code: 'TIMEOUT',
            message: `the scan took longer than ${d.requestTimeoutMs / 1000} s`,
            permanent: false,
          }
        : classifyFailure(err, credentials ? [credentials.password] : []);
      d.metrics.failures.inc({ type: 'image', reason: f.code, cluster: req.cluster });
      if (!endsWithError(f, at, d.scanAttempts)) {
        log.warn({ err: bounded(f.message), code: f.code }, 'image scan failed; will retry');
        d.metrics.requests.inc({ type: 'image', outcome: 'retried', cluster: req.cluster });
        return { kind: 'retry', reason: f.message };
      }
      log.warn(
        { err: bounded(f.message), code: f.code },
        'image scan failed permanently; publishing error result',
      );
      const result: ImageScanResult = {
        ...base,
        ...(req.digest && { digest: req.digest }),
        status: 'error',
        cached: false,
        error: f,
        finishedAt: d.clock.now().toISOString(),
      };
      await publish(req, at, encode(ImageScanResultSchema, result));
      await publishFindings({
        cluster: req.cluster,
        namespace: req.namespace,
        image: req.image,
        ...(req.digest && { digest: req.digest }),
        error: { code: f.code, message: f.message },
      });
      d.metrics.requests.inc({ type: 'image', outcome: 'error', cluster: req.cluster });
      return { kind: 'ack' };
    } finally {
      credentials = undefined;
    }
  }

  const lanes = createScanLanes({
    type: 'image',
    js: d.js,
    schema: ImageScanRequestSchema,
    handle: (_lane, req, at) => handle(req, at),
    concurrency: d.concurrency,
    requestTimeoutMs: d.requestTimeoutMs,
    metrics: d.metrics,
    logger: d.logger,
    signal: abort.signal,
    ...(d.deadLetters && { deadLetters: d.deadLetters }),
  });

  return {
    start: lanes.start,
    held: lanes.held,
    /** Stops pulling and kills running trivy processes; their messages go back to the stream. */
    async stop(): Promise<void> {
      abort.abort();
      await lanes.stop();
    },
  };
}
