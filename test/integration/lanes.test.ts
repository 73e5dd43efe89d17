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
/** Results in arrival order, by the name their request gave them. */
const arrived: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-lanes-'));
  nc = await connect({ servers: stack().natsUrl });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(cluster));
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

async function drainResults(): Promise<void> {
  const consumer = await jetstream(nc).consumers.get(STREAM_RESULTS, writerConsumer(cluster));
  for (;;) {
    const m = await consumer.next({ expires: 1000 });
    if (!m) return;
    const body = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
    if (m.subject === subjects.resultConfig(cluster)) {
      arrived.push(ConfigAuditResultSchema.parse(body).owner.name);
    } else arrived.push(ImageScanResultSchema.parse(body).namespace);
    m.ack();
  }
}

function audit(name: string): ConfigAuditRequest {
  return {
    v: 1,
    cluster,
    owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'lanes', name, uid: `${run}-${name}` },
    specHash: 'spec',
    pluginConfigHash: 'plugin',
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
    const at = arrived.indexOf('urgent-audit');
    const bulkBefore = arrived.slice(0, at).filter((n) => n.startsWith('bulk-')).length;
    // One queue would have answered all 300 first.
    expect(bulkBefore).toBeLessThan(BULK_AUDITS);
  }, 660_000);

  it('scans an urgent image request while bulk image scans are queued', async () => {
    const image = `${stack().registry.host}/library/nginx:1.20`;
    const bulk = Array.from({ length: BULK_IMAGES }, (_, i) => `bulk-img-${i}`);
    for (const ns of bulk) await publishImage(ns, image, 'bulk');
    await publishImage('urgent-img', image, 'urgent');
    await waitAll([...bulk, 'urgent-img']);
    const at = arrived.indexOf('urgent-img');
    const bulkBefore = arrived.slice(0, at).filter((n) => n.startsWith('bulk-img-')).length;
    expect(bulkBefore).toBeLessThan(BULK_IMAGES);
  }, 660_000);
});
