import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  bounded,
  type ConfigAuditData,
  ConfigAuditDataSchema,
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  type ConfigAuditResult,
  ConfigAuditResultSchema,
  type Consumption,
  consume,
  type Delivery,
  encode,
  LANES,
  type Lane,
  laneOf,
  type Outcome,
  STREAM_SCAN,
  scanConsumer,
  subjects,
} from '@fleetscan/bus';
import type { Clock, Logger } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import { stringify } from 'yaml';
import { type Batcher, createBatcher } from './batcher.ts';
import type { ScanEngine } from './engine.ts';
import { classifyFailure } from './failure.ts';
import type { ScannerMetrics } from './metrics.ts';

export interface ConfigWorkerDeps {
  js: JetStreamClient;
  blobs: BlobStore;
  engine: ScanEngine;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  batchSize: number;
  batchWaitMs: number;
}

/** Results above this go to the object store; NATS's default max_payload is 1 MiB. */
const INLINE_LIMIT = 256 * 1024;

type Manifest = ConfigAuditRequest['manifest'];

/**
 * Config audits in batches: trivy loads hundreds of checks per start, so one process audits every
 * manifest held (batcher.ts: one run at a time, arrivals during a run form the next), and the
 * checks are split back per owner by file name. Each message's handler submits its manifest,
 * awaits its checks, and publishes its own result.
 *
 * Each lane has its own consumer and batcher: an urgent audit runs next to a bulk batch (at most
 * two trivy processes) instead of waiting for hundreds of manifests ahead of it.
 */
export function createConfigWorker(d: ConfigWorkerDeps) {
  const abort = new AbortController();
  const consumptions: Consumption[] = [];

  /** One trivy run over a batch; counted and logged once per batch, whatever its size. */
  async function audit(manifests: readonly Manifest[]): Promise<ConfigAuditData[]> {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-audit-'));
    const file = (i: number) => `${i}.yaml`;
    d.metrics.inFlight.inc({ type: 'config' });
    d.metrics.trivyRuns.inc({ type: 'config' });
    d.metrics.batchSize.observe(manifests.length);
    const end = d.metrics.duration.startTimer({ type: 'config' });
    try {
      await Promise.all(manifests.map((m, i) => writeFile(join(dir, file(i)), stringify(m))));
      const checks = await d.engine.auditConfigs(dir, { signal: abort.signal });
      const scanner = await d.engine.scanner();
      const scannedAt = d.clock.now().toISOString();
      d.logger.info({ manifests: manifests.length }, 'config audit batch done');
      return manifests.map((_m, i) => ({ scanner, checks: checks.get(file(i)) ?? [], scannedAt }));
    } catch (err) {
      if (!abort.signal.aborted) {
        const f = classifyFailure(err);
        d.metrics.failures.inc({ type: 'config', reason: f.code });
        d.logger.warn(
          { err: bounded(f.message), code: f.code, manifests: manifests.length },
          'config audit batch failed',
        );
      }
      throw err;
    } finally {
      end();
      d.metrics.inFlight.dec({ type: 'config' });
      await rm(dir, { recursive: true, force: true });
    }
  }

  const batcher = () =>
    createBatcher({ maxSize: d.batchSize, waitMs: d.batchWaitMs, run: audit, signal: abort.signal });
  const batchers: Record<Lane, Batcher<Manifest, ConfigAuditData>> = { urgent: batcher(), bulk: batcher() };

  /** The result goes out in the lane its request came in. */
  async function publish(req: ConfigAuditRequest, at: Delivery, result: ConfigAuditResult): Promise<void> {
    const subject = subjects.resultConfig(req.cluster, laneOf(at.subject));
    await d.js.publish(subject, encode(ConfigAuditResultSchema, result), {
      msgID: `r.${at.id}.${at.delivery}`,
    });
  }

  async function publishData(req: ConfigAuditRequest, at: Delivery, data: ConfigAuditData): Promise<void> {
    const base = {
      v: 1 as const,
      cluster: req.cluster,
      owner: req.owner,
      specHash: req.specHash,
      pluginConfigHash: req.pluginConfigHash,
      status: 'ok' as const,
      finishedAt: d.clock.now().toISOString(),
    };
    if (JSON.stringify(data).length <= INLINE_LIMIT) {
      await publish(req, at, { ...base, data });
      return;
    }
    const key = `config/${req.owner.uid}/${req.specHash}/${req.pluginConfigHash}`;
    await d.blobs.put(ConfigAuditDataSchema, key, data);
    await publish(req, at, { ...base, blob: key });
  }

  async function handle(lane: Lane, req: ConfigAuditRequest, at: Delivery): Promise<Outcome> {
    let data: ConfigAuditData;
    try {
      data = await batchers[lane].submit(req.manifest);
    } catch (err) {
      // Stopping: the message goes back to the stream for another replica.
      if (at.signal.aborted) return { kind: 'retry', reason: 'stopping' };
      const f = classifyFailure(err);
      if (!f.permanent && !at.lastDelivery) {
        d.metrics.requests.inc({ type: 'config', outcome: 'retried' });
        return { kind: 'retry', reason: f.message };
      }
      await publish(req, at, {
        v: 1,
        cluster: req.cluster,
        owner: req.owner,
        specHash: req.specHash,
        pluginConfigHash: req.pluginConfigHash,
        status: 'error',
        error: f,
        finishedAt: d.clock.now().toISOString(),
      });
      d.metrics.requests.inc({ type: 'config', outcome: 'error' });
      return { kind: 'ack' };
    }
    await publishData(req, at, data);
    d.metrics.requests.inc({ type: 'config', outcome: 'scanned' });
    return { kind: 'ack' };
  }

  function consumeLane(lane: Lane): Promise<Consumption> {
    return consume({
      js: d.js,
      stream: STREAM_SCAN,
      consumer: scanConsumer('config', lane),
      schemaFor: () => ConfigAuditRequestSchema,
      handle: (req, at) => handle(lane, req, at),
      // A full batch running and the next one gathering meanwhile.
      concurrency: 2 * d.batchSize,
      metrics: d.metrics.consume,
      logger: d.logger,
      signal: abort.signal,
      onTerm: (t) => {
        if (t.ending !== 'invalid') return;
        d.metrics.requests.inc({ type: 'config', outcome: 'invalid' });
        d.metrics.failures.inc({ type: 'config', reason: 'INVALID_MESSAGE' });
      },
    });
  }

  return {
    async start(): Promise<void> {
      for (const lane of LANES) consumptions.push(await consumeLane(lane));
    },
    /** Stops pulling and kills running trivy processes; held messages go back to the stream. */
    async stop(): Promise<void> {
      abort.abort();
      await Promise.all(consumptions.map((c) => c.stop()));
    },
  };
}
