import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  CONSUMER_SCAN_CONFIG,
  type ConfigAuditData,
  ConfigAuditDataSchema,
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  type ConfigAuditResult,
  ConfigAuditResultSchema,
  decode,
  encode,
  isBusError,
  STREAM_SCAN,
  subjects,
} from '@fleetscan/bus';
import { backoff, type Clock, type Logger } from '@fleetscan/service';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { stringify } from 'yaml';
import type { ScanEngine } from './engine.ts';
import { classifyFailure } from './failure.ts';
import { keepAlive } from './keepalive.ts';
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
  ackWaitMs: number;
  maxDeliver: number;
}

/** Results above this go to the object store; NATS's default max_payload is 1 MiB. */
const INLINE_LIMIT = 256 * 1024;

/**
 * Config audits in batches: trivy loads hundreds of checks per start, so one
 * process audits every manifest that arrived within `batchWaitMs` (up to
 * `batchSize`), and the checks are split back per owner by file name.
 */
export function createConfigWorker(d: ConfigWorkerDeps) {
  const abort = new AbortController();
  let held: JsMsg[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  async function publish(m: JsMsg, result: ConfigAuditResult): Promise<void> {
    const id = m.headers?.get('Nats-Msg-Id') || `${m.info.stream}.${m.seq}`;
    await d.js.publish(subjects.resultConfig(result.cluster), encode(ConfigAuditResultSchema, result), {
      msgID: `r.${id}.${m.info.deliveryCount}`,
    });
  }

  async function publishData(m: JsMsg, req: ConfigAuditRequest, data: ConfigAuditData): Promise<void> {
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
      await publish(m, { ...base, data });
      return;
    }
    const key = `config/${req.owner.uid}/${req.specHash}/${req.pluginConfigHash}`;
    await d.blobs.put(ConfigAuditDataSchema, key, data);
    await publish(m, { ...base, blob: key });
  }

  async function processBatch(batch: JsMsg[]): Promise<void> {
    const valid: { m: JsMsg; req: ConfigAuditRequest; file: string }[] = [];
    for (const m of batch) {
      try {
        const req = decode(ConfigAuditRequestSchema, m.data);
        valid.push({ m, req, file: `${valid.length}.yaml` });
      } catch (err) {
        const reason = isBusError(err) ? err.message : String(err);
        d.metrics.requests.inc({ type: 'config', outcome: 'invalid' });
        d.metrics.failures.inc({ type: 'config', reason: 'INVALID_MESSAGE' });
        d.logger.warn({ subject: m.subject, seq: m.seq, reason }, 'terminating invalid config audit request');
        m.term(reason);
      }
    }
    if (valid.length === 0) return;
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-audit-'));
    const stop = keepAlive(
      valid.map((v) => v.m),
      d.ackWaitMs / 3,
    );
    d.metrics.inFlight.inc({ type: 'config' });
    d.metrics.trivyRuns.inc({ type: 'config' });
    d.metrics.batchSize.observe(valid.length);
    const end = d.metrics.duration.startTimer({ type: 'config' });
    try {
      await Promise.all(valid.map((v) => writeFile(join(dir, v.file), stringify(v.req.manifest))));
      const checks = await d.engine.auditConfigs(dir, { signal: abort.signal });
      const scanner = await d.engine.scanner();
      const scannedAt = d.clock.now().toISOString();
      for (const v of valid) {
        await publishData(v.m, v.req, { scanner, checks: checks.get(v.file) ?? [], scannedAt });
        v.m.ack();
        d.metrics.requests.inc({ type: 'config', outcome: 'scanned' });
      }
      d.logger.info({ manifests: valid.length }, 'config audit batch published');
    } catch (err) {
      if (abort.signal.aborted) {
        for (const v of valid) v.m.nak();
        return;
      }
      const f = classifyFailure(err);
      d.metrics.failures.inc({ type: 'config', reason: f.code });
      d.logger.warn({ err: f.message, code: f.code, manifests: valid.length }, 'config audit batch failed');
      for (const v of valid) {
        if (!f.permanent && v.m.info.deliveryCount < d.maxDeliver) {
          d.metrics.requests.inc({ type: 'config', outcome: 'retried' });
          v.m.nak(backoff(v.m.info.deliveryCount - 1, 1000, 60_000));
          continue;
        }
        await publish(v.m, {
          v: 1,
          cluster: v.req.cluster,
          owner: v.req.owner,
          specHash: v.req.specHash,
          pluginConfigHash: v.req.pluginConfigHash,
          status: 'error',
          error: f,
          finishedAt: d.clock.now().toISOString(),
        }).then(
          () => v.m.ack(),
          () => v.m.nak(5000),
        );
        d.metrics.requests.inc({ type: 'config', outcome: 'error' });
      }
    } finally {
      end();
      d.metrics.inFlight.dec({ type: 'config' });
      stop();
      await rm(dir, { recursive: true, force: true });
    }
  }

  let running = false;

  /**
   * Starts an audit of what is held, unless one is running: arrivals during a run keep
   * accumulating (with heartbeats) and go together into the next run as soon as it ends, so the
   * batch size follows the load instead of the timer, and no message waits un-acked in a queue.
   */
  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (running || held.length === 0) return;
    const batch = held.splice(0, d.batchSize);
    running = true;
    chain = processBatch(batch)
      .catch((err: unknown) => {
        d.logger.error({ err: String(err) }, 'config batch crashed');
      })
      .finally(() => {
        running = false;
        flush();
      });
  }

  return {
    async run(): Promise<void> {
      const consumer = await d.js.consumers.get(STREAM_SCAN, CONSUMER_SCAN_CONFIG);
      // Messages waiting for the batch to fill must not time out meanwhile.
      const heartbeat = setInterval(() => {
        for (const m of held) m.working();
      }, d.ackWaitMs / 3);
      try {
        while (!abort.signal.aborted) {
          // Up to a batch's room per pull request: a message at a time cost nats-server a request each.
          let got = 0;
          try {
            const batch = await consumer.fetch({
              max_messages: Math.max(1, d.batchSize - held.length),
              expires: 1000,
            });
            for await (const m of batch) {
              got++;
              held.push(m);
              if (held.length >= d.batchSize) flush();
              else timer ??= setTimeout(flush, d.batchWaitMs);
            }
          } catch (err) {
            d.logger.warn({ err: String(err) }, 'pull from scan-config failed; retrying');
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          // A quiet second: audit what is held now rather than wait for more.
          if (got === 0) flush();
        }
      } finally {
        clearInterval(heartbeat);
        for (const m of held) m.nak();
        held = [];
        await chain;
      }
    },
    stop(): void {
      abort.abort();
    },
  };
}
