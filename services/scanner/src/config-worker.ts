import {
  type BlobStore,
  BusErrorCode,
  bounded,
  type ConfigAuditData,
  ConfigAuditDataSchema,
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  type ConfigAuditResult,
  ConfigAuditResultSchema,
  type DeadLetters,
  type Delivery,
  encode,
  isBusError,
  type Lane,
  laneOf,
  type Manifest,
  ManifestSchema,
  type Outcome,
  type ScanError,
  subjects,
} from '@fleetscan/bus';
import type { Clock, Logger } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type Batcher, createBatcher } from './batcher.ts';
import { type AuditItem, type AuditOutput, auditOutputs } from './config-outputs.ts';
import type { ScanEngine } from './engine.ts';
import { classifyFailure } from './failure.ts';
import type { ChecksPublisher } from './fleet-checks.ts';
import type { ScannerMetrics } from './metrics.ts';
import { carry } from './result-payload.ts';
import { createScanLanes } from './scan-lanes.ts';
import { untilAborted } from './until-aborted.ts';

export interface ConfigWorkerDeps {
  js: JetStreamClient;
  /** The results bucket of a cluster: where its audits too large for a message go. */
  resultsBucket(cluster: string): Promise<BlobStore>;
  /** The manifests bucket of a cluster: where its watcher put manifests too large for a request. */
  manifests(cluster: string): Promise<Pick<BlobStore, 'get'>>;
  engine: ScanEngine;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  batchSize: number;
  batchWaitMs: number;
  /** The most one request may take (waiting for its batch and the batch's run): see image-worker.ts. */
  requestTimeoutMs: number;
  /** The server's max_payload: a result that would not fit goes to the cluster's results bucket. */
  maxPayload: number;
  deadLetters?: DeadLetters;
  /** Where each owner's failed checks go for the fleet view (fleet-checks.ts); none: not published. */
  checks?: ChecksPublisher;
}

/**
 * Config audits in batches: one request to the audit worker carries every manifest held
 * (batcher.ts: one run at a time, arrivals during a run form the next), each audited on its own
 * (no file, no directory), and each request's checks are made with its cluster's settings. Each
 * message's handler submits its manifest, awaits its checks, and publishes its own result.
 *
 * Each lane has its own consumer and batcher: an urgent audit does not wait for hundreds of
 * manifests gathering ahead of it. The one audit worker has two lanes as well: it audits an urgent
 * request beside the bulk chunk (AUDITOR_REQUEST_MANIFESTS) in progress, and bulk ones on niced threads.
 */
export function createConfigWorker(d: ConfigWorkerDeps) {
  const abort = new AbortController();

  /** One worker request over a batch; counted and logged once per batch, whatever its size. */
  async function audit(lane: Lane, items: readonly AuditItem[]): Promise<AuditOutput[]> {
    d.metrics.inFlight.inc({ type: 'config' });
    d.metrics.trivyRuns.inc({ type: 'config', cluster: '' });
    d.metrics.batchSize.observe(items.length);
    const end = d.metrics.duration.startTimer({ type: 'config' });
    const startMs = d.clock.now().getTime();
    const oldestMs = Math.min(startMs, ...items.map((i) => i.submittedAtMs ?? startMs));
    const storedMs = Math.min(startMs, ...items.map((i) => i.storedAtMs ?? startMs));
    try {
      const outcomes = await d.engine.auditManifests(
        items.map((i) => i.manifest),
        { signal: abort.signal, urgent: lane === 'urgent' },
      );
      const scanner = await d.engine.scanner();
      const scannedAt = d.clock.now().toISOString();
      d.logger.info(
        {
          manifests: items.length,
          lane,
          waitedMs: startMs - oldestMs,
          sinceStoredMs: startMs - storedMs,
          auditMs: d.clock.now().getTime() - startMs,
        },
        'config audit batch done',
      );
      return auditOutputs(items, outcomes, scanner, scannedAt);
    } catch (err) {
      if (!abort.signal.aborted) {
        const f = classifyFailure(err);
        d.metrics.failures.inc({ type: 'config', reason: f.code, cluster: '' });
        d.logger.warn(
          { err: bounded(f.message), code: f.code, manifests: items.length },
          'config audit batch failed',
        );
      }
      throw err;
    } finally {
      end();
      d.metrics.inFlight.dec({ type: 'config' });
    }
  }

  const batcher = (lane: Lane) =>
    createBatcher({
      maxSize: d.batchSize,
      waitMs: laneBatchWaitMs(lane, d.batchWaitMs),
      run: (items: readonly AuditItem[]) => audit(lane, items),
      signal: abort.signal,
    });
  const batchers: Record<Lane, Batcher<AuditItem, AuditOutput>> = {
    urgent: batcher('urgent'),
    bulk: batcher('bulk'),
  };

  /** The result goes out in the lane its request came in. */
  async function publish(req: ConfigAuditRequest, at: Delivery, result: Uint8Array): Promise<void> {
    await d.js.publish(subjects.resultConfig(req.cluster, laneOf(at.subject)), result, {
      msgID: `r.${at.id}.${at.delivery}`,
    });
  }

  async function publishData(req: ConfigAuditRequest, at: Delivery, data: ConfigAuditData): Promise<void> {
    const base = {
      ...echo(req),
      status: 'ok' as const,
      finishedAt: d.clock.now().toISOString(),
    };
    const result = await carry({
      schema: ConfigAuditDataSchema,
      data,
      key: `config/${req.owner.uid}/${req.specHash}/${req.pluginConfigHash}`,
      bucket: () => d.resultsBucket(req.cluster),
      message: (payload) => encode(ConfigAuditResultSchema, { ...base, ...payload }),
      maxPayload: d.maxPayload,
    });
    await publish(req, at, result);
    await publishChecks(req, data);
  }

  /**
   * After the result: the fleet view is told which checks the owner fails. A failure here fails
   * neither the request nor its report; it is counted, and the owner's next audit publishes again.
   */
  async function publishChecks(req: ConfigAuditRequest, data: ConfigAuditData): Promise<void> {
    if (!d.checks) return;
    try {
      await d.checks.publish(req, data, d.clock.now());
    } catch (err) {
      d.metrics.failures.inc({ type: 'config', reason: 'FLEET_CHECKS', cluster: req.cluster });
      d.logger.warn(
        { err: bounded((err as Error).message), cluster: req.cluster },
        'cannot publish fleet checks',
      );
    }
  }

  /**
   * A large manifest travels in its cluster's manifests bucket (see MAX_INLINE_MANIFEST_BYTES): the
   * request's cluster is its subject's (forSubject), so one cluster's request cannot name another's.
   */
  const manifestOf = async (req: ConfigAuditRequest): Promise<Manifest> =>
    req.manifest ?? (await d.manifests(req.cluster)).get(ManifestSchema, req.manifestBlob ?? '');

  async function publishError(req: ConfigAuditRequest, at: Delivery, error: ScanError): Promise<Outcome> {
    const result: ConfigAuditResult = {
      ...echo(req),
      status: 'error',
      error,
      finishedAt: d.clock.now().toISOString(),
    };
    await publish(req, at, encode(ConfigAuditResultSchema, result));
    d.metrics.requests.inc({ type: 'config', outcome: 'error', cluster: req.cluster });
    return { kind: 'ack' };
  }

  async function handle(lane: Lane, req: ConfigAuditRequest, at: Delivery): Promise<Outcome> {
    let out: AuditOutput;
    try {
      // The batch runs for everyone in it: this request stops waiting at its own bound.
      out = await untilAborted(
        manifestOf(req).then((manifest) =>
          batchers[lane].submit({
            manifest,
            settings: req.settings,
            submittedAtMs: d.clock.now().getTime(),
            storedAtMs: at.storedAt.getTime(),
          }),
        ),
        at.signal,
      );
    } catch (err) {
      // Stopping: the message goes back to the stream for another replica.
      if (isBusError(at.signal.reason, BusErrorCode.Stopping)) return { kind: 'retry', reason: 'stopping' };
      const f = isBusError(at.signal.reason, BusErrorCode.Deadline)
        ? {
            code: 'TIMEOUT',
            message: `the config audit took longer than ${d.requestTimeoutMs / 1000} s`,
            permanent: false,
          }
        : classifyFailure(err);
      if (!f.permanent && !at.lastDelivery) {
        d.metrics.requests.inc({ type: 'config', outcome: 'retried', cluster: req.cluster });
        return { kind: 'retry', reason: f.message };
      }
      return publishError(req, at, f);
    }
    if ('error' in out) {
      d.metrics.failures.inc({ type: 'config', reason: out.error.code, cluster: req.cluster });
      return publishError(req, at, out.error);
    }
    await publishData(req, at, out.data);
    d.metrics.requests.inc({ type: 'config', outcome: 'scanned', cluster: req.cluster });
    return { kind: 'ack' };
  }

  const lanes = createScanLanes({
    type: 'config',
    js: d.js,
    schema: ConfigAuditRequestSchema,
    handle,
    // A full batch running and the next one gathering meanwhile.
    concurrency: 2 * d.batchSize,
    requestTimeoutMs: d.requestTimeoutMs,
    metrics: d.metrics,
    logger: d.logger,
    signal: abort.signal,
    ...(d.deadLetters && { deadLetters: d.deadLetters }),
  });

  return {
    start: lanes.start,
    held: lanes.held,
    /** Stops pulling and kills a running audit; held messages go back to the stream. */
    async stop(): Promise<void> {
      abort.abort();
      await lanes.stop();
    },
  };
}

/**
 * How long a lane's lone request waits for others before its batch runs. An urgent one (a new
 * workload's) starts at once: the wait was most of a new workload's time to its ConfigAuditReport on
 * an idle fleet (250 of ~300 ms), and urgent requests come one or a few at a time. What arrives while
 * a batch runs still goes together into the next one.
 */
export function laneBatchWaitMs(lane: Lane, configuredMs: number): number {
  return lane === 'urgent' ? 0 : configuredMs;
}

/** What a result repeats of its request: whose audit it is, of what, for which reports. */
function echo(req: ConfigAuditRequest) {
  return {
    v: 1 as const,
    cluster: req.cluster,
    owner: req.owner,
    specHash: req.specHash,
    pluginConfigHash: req.pluginConfigHash,
    ...(req.reports && { reports: req.reports }),
  };
}
