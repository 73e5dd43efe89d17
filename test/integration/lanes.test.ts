import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  ConfigAuditResultSchema,
  encode,
  ensureConsumer,
  ensureStreams,
  type ImageScanRequest,
  ImageScanRequestSchema,
  ImageScanResultSchema,
  LANES,
  type Lane,
  STREAM_RESULTS,
  subjects,
  writerConsumer,
  writerConsumerConfig,
} from '@fleetscan/bus';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import { natsConnectOptions } from '@fleetscan/stack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { scannerEnv } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// The scanner's two lanes against the real stack: a backlog in the bulk lane, then one urgent
// request. With one queue the urgent one would be answered last; with a lane of its own it is
// answered while the backlog is still being worked off. Order, not time, is asserted.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const cluster = `lanes-${run}`;
const BULK_AUDITS = 300;
const BULK_IMAGES = 4;

let dir = '';
let nc: NatsConnection;
let scanner: RunningScanner | undefined;
let logStream: ReturnType<typeof createWriteStream> | undefined;
/** Results by the name their request gave them. */
const arrived: string[] = [];
/** Each result's sequence in the results stream: the order the scanner published them. */
const seqOf = new Map<string, number>();
/** The lane each result came back in, by that name. */
const laneOfResult = new Map<string, Lane>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-lanes-'));
  nc = await connect(natsConnectOptions(stack()));
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  for (const lane of LANES)
    await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(cluster, {}, lane));
  // Batches of 100 manifests, one image at a time: the backlog takes several trivy runs in a row.
  const config = scannerConfig(
    scannerEnv(stack(), {
      REPLICA_NAME: `${cluster}-scanner`,
      CONFIG_BATCH_SIZE: '100',
      IMAGE_CONCURRENCY: '1',
    }),
  );
  logStream = createWriteStream(join(dir, 'scanner.log'), { flags: 'a' });
  const logger = createLogger({ service: 'scanner', level: 'debug', destination: logStream });
  scanner = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
});

afterAll(async () => {
  await scanner?.stop();
  const s = logStream;
  if (s) await new Promise<void>((resolve) => s.end(resolve));
  await nc?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the writer's two consumers hold now. */
async function drainResults(): Promise<void> {
  for (const lane of LANES) {
    const consumer = await jetstream(nc).consumers.get(STREAM_RESULTS, writerConsumer(cluster, lane));
    for (;;) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) break;
      const body = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
      const name =
        m.subject === subjects.resultConfig(cluster, lane)
          ? ConfigAuditResultSchema.parse(body).owner.name
          : ImageScanResultSchema.parse(body).namespace;
      arrived.push(name);
      seqOf.set(name, m.seq);
      laneOfResult.set(name, lane);
      m.ack();
    }
  }
}

function audit(name: string): ConfigAuditRequest {
  return {
    v: 1,
    cluster,
    owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'lanes', name, uid: `${run}-${name}` },
    specHash: 'spec',
    pluginConfigHash: 'plugin',
    settings: {},
    manifest: {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: 'lanes' },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image: `${stack().registry.host}/library/nginx:1.20` }] },
        },
      },
    },
    requestedAt: new Date().toISOString(),
  };
}

async function publishAudit(name: string, lane: Lane): Promise<void> {
  await jetstream(nc).publish(
    subjects.scanConfig(cluster, lane),
    encode(ConfigAuditRequestSchema, audit(name)),
    {
      msgID: `${cluster}.${name}`,
    },
  );
}

async function publishImage(namespace: string, image: string, lane: Lane): Promise<void> {
  const req: ImageScanRequest = {
    v: 1,
    cluster,
    image,
    namespace,
    scanners: ['vuln'],
    // A skip dir of this run's own: a new analysis key, so nothing comes from another test's cache.
    settings: { skipDirs: [`/fleetscan-lanes-${run}-${namespace}`] },
    scanConfigHash: 'lanes',
    requestedAt: new Date().toISOString(),
  };
  await jetstream(nc).publish(subjects.scanImage(cluster, lane), encode(ImageScanRequestSchema, req), {
    msgID: `${cluster}.${namespace}`,
  });
}

const waitAll = (names: readonly string[]) =>
  waitFor(
    `${names.length} results`,
    async () => {
      await drainResults();
      return names.every((n) => arrived.includes(n)) ? true : undefined;
    },
    600_000,
  );

describe('lanes', () => {
  it('audits an urgent config request while a bulk backlog is still being audited', async () => {
    const bulk = Array.from({ length: BULK_AUDITS }, (_, i) => `bulk-${i}`);
    for (const name of bulk) await publishAudit(name, 'bulk');
    await publishAudit('urgent-audit', 'urgent');
    await waitAll([...bulk, 'urgent-audit']);
    const at = seqOf.get('urgent-audit') ?? 0;
    const bulkBefore = bulk.filter((n) => (seqOf.get(n) ?? 0) < at).length;
    // One queue would have answered all 300 first.
    expect(bulkBefore).toBeLessThan(BULK_AUDITS);
    // Each result came back in its request's lane, for the writer's consumer of that lane.
    expect(laneOfResult.get('urgent-audit')).toBe('urgent');
    expect(bulk.every((n) => laneOfResult.get(n) === 'bulk')).toBe(true);
  }, 660_000);

  it('scans an urgent image request while bulk image scans are queued', async () => {
    const image = `${stack().registry.host}/library/nginx:1.20`;
    const bulk = Array.from({ length: BULK_IMAGES }, (_, i) => `bulk-img-${i}`);
    for (const ns of bulk) await publishImage(ns, image, 'bulk');
    await publishImage('urgent-img', image, 'urgent');
    await waitAll([...bulk, 'urgent-img']);
    const at = seqOf.get('urgent-img') ?? 0;
    const bulkBefore = bulk.filter((n) => (seqOf.get(n) ?? 0) < at).length;
    expect(bulkBefore).toBeLessThan(BULK_IMAGES);
  }, 660_000);
});
