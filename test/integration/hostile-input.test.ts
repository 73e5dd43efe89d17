import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONSUMER_SCAN_CONFIG,
  CONSUMER_SCAN_IMAGE,
  DeadLetterHeader,
  type Identity,
  pendingMessages,
  STREAM_DEAD,
  STREAM_RESULTS,
  STREAM_SCAN,
  subjects,
  writerConsumer,
} from '@fleetscan/bus';
import { natsConnectOptions } from '@fleetscan/stack';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// Messages that can never succeed, published on every consumer's subject straight to the real
// stack: each must end at its first delivery in a term with a reason, a counter, one bounded log
// line and a dead letter, and leave nothing pending. Each is published by the identity whose
// permissions allow that subject (a cluster's watcher for requests, the scanners for results):
// the server lets it through, so the consumer's limits are what stops it.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const cluster = `hostile-${run}`;
const enc = new TextEncoder();
let svc: Services;
/** admin: reads the streams. */
let nc: NatsConnection;
let jsm: JetStreamManager;
let watcherNc: NatsConnection;
let scannerNc: NatsConnection;

beforeAll(async () => {
  nc = await connect(natsConnectOptions(stack()));
  jsm = await jetstreamManager(nc);
  // startServices provisions the cluster's NATS users.
  svc = await startServices(stack(), cluster);
  const as = (id: Identity) => connect(natsConnectOptions(stack(), id));
  watcherNc = await as({ role: 'watcher', cluster });
  scannerNc = await as({ role: 'scanner' });
});

afterAll(async () => {
  await svc?.stop();
  await Promise.all([nc?.close(), watcherNc?.close(), scannerNc?.close()]);
});

const publish = (as: NatsConnection, subject: string, body: unknown) =>
  jetstream(as).publish(subject, enc.encode(JSON.stringify(body)));

/** The newest dead letter of `consumer` for a message published on `subject`. */
async function deadLetter(consumer: string, subject: string) {
  const info = await jsm.streams.info(STREAM_DEAD);
  for (let seq = info.state.last_seq; seq >= info.state.first_seq && seq > 0; seq--) {
    const m = await jsm.streams.getMessage(STREAM_DEAD, { seq }).catch(() => null);
    if (!m || m.subject !== subjects.dead(consumer) || m.header.get(DeadLetterHeader.Subject) !== subject)
      continue;
    const h = (k: string) => m.header.get(k);
    return {
      ending: h(DeadLetterHeader.Ending),
      reason: h(DeadLetterHeader.Reason),
      size: Number(h(DeadLetterHeader.Size)),
      deliveries: h(DeadLetterHeader.Deliveries),
      body: m.data.length,
    };
  }
  return undefined;
}

async function logLines(name: string): Promise<string[]> {
  return (await readFile(join(stack().dir, `${name}.log`), 'utf8')).split('\n').filter(Boolean);
}

const now = () => new Date().toISOString();

describe('hostile input ends at once', () => {
  it('a 900 KB image reference is terminated by the scanner as invalid, counted, logged once and bounded, kept as a dead letter', async () => {
    const scanner = svc.scanners[0];
    if (!scanner) throw new Error('no scanner');
    const subject = subjects.scanImage(cluster);
    const invalid = () =>
      metricValue(scanner.registry, 'fleetscan_consumer_messages_total', {
        consumer: CONSUMER_SCAN_IMAGE,
        outcome: 'invalid',
      });
    const before = await invalid();
    const image = `${stack().registry.host}/library/app:${'x'.repeat(900_000)}`;
    const ack = await publish(watcherNc, subject, {
      v: 1,
      cluster,
      namespace: 'hostile',
      image,
      scanners: ['vuln'],
      settings: {},
      scanConfigHash: 'h',
      requestedAt: now(),
    });
    await waitFor('the term', async () => ((await invalid()) === before + 1 ? true : undefined));
    expect(
      await metricValue(scanner.registry, 'fleetscan_scanner_requests_total', {
        type: 'image',
        outcome: 'invalid',
      }),
    ).toBeGreaterThanOrEqual(1);
    const letter = await waitFor('the dead letter', () => deadLetter(CONSUMER_SCAN_IMAGE, subject));
    expect(letter).toMatchObject({ ending: 'invalid', deliveries: '1', body: 16 * 1024 });
    expect(letter.reason).toMatch(/^invalid message: image: Too big/);
    expect(letter.size).toBeGreaterThan(900_000);
    await waitFor('the request to leave the stream', async () =>
      (await pendingMessages(jsm, STREAM_SCAN, subject)) === 0 ? true : undefined,
    );
    const lines = await logLines(`scanner-${cluster}-0`);
    const terms = lines.filter((l) => l.includes('message terminated') && l.includes(`"seq":${ack.seq}`));
    expect(terms).toHaveLength(1);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(4096);
  });

  it('a config audit request with a name past Kubernetes limits is terminated by the scanner', async () => {
    const scanner = svc.scanners[0];
    if (!scanner) throw new Error('no scanner');
    const subject = subjects.scanConfig(cluster);
    const name = 'n'.repeat(300);
    await publish(watcherNc, subject, {
      v: 1,
      cluster,
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'hostile', name, uid: 'u1' },
      specHash: 's',
      pluginConfigHash: 'p',
      manifest: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'hostile' } },
      requestedAt: now(),
    });
    await waitFor('the term', async () =>
      (await metricValue(scanner.registry, 'fleetscan_consumer_messages_total', {
        consumer: CONSUMER_SCAN_CONFIG,
        outcome: 'invalid',
      })) >= 1
        ? true
        : undefined,
    );
    const letter = await waitFor('the dead letter', () => deadLetter(CONSUMER_SCAN_CONFIG, subject));
    // Headers only: a workload manifest is not kept.
    expect(letter).toMatchObject({ ending: 'invalid', deliveries: '1', body: 0 });
    expect(letter.reason).toMatch(/^invalid message: owner\.name: Too big/);
    // The term and the dead letter travel separately: the letter may be stored before the term is applied.
    await waitFor('the request to leave the stream', async () =>
      (await pendingMessages(jsm, STREAM_SCAN, subject)) === 0 ? true : undefined,
    );
  });

  it('a result finished in the future is terminated by the writer at once, not retried as an owner not seen yet', async () => {
    const subject = subjects.resultImage(cluster);
    const consumer = writerConsumer(cluster);
    await publish(scannerNc, subject, {
      v: 1,
      cluster,
      image: `${stack().registry.host}/library/nginx:1.20`,
      namespace: 'hostile',
      scanConfigHash: 'h',
      status: 'error',
      cached: false,
      error: { code: 'TRANSIENT', message: 'registry answered HTTP 500', permanent: false },
      finishedAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    // Before: 'no owner uses this image yet' every 5 s while in its grace, which a future time never left.
    await waitFor(
      'the term',
      async () =>
        (await metricValue(svc.writer.registry, 'fleetscan_consumer_messages_total', {
          consumer,
          outcome: 'invalid',
        })) === 1
          ? true
          : undefined,
      30_000,
    );
    const letter = await waitFor('the dead letter', () => deadLetter(consumer, subject));
    expect(letter).toMatchObject({ ending: 'invalid', deliveries: '1' });
    expect(letter.reason).toContain('finishedAt: in the future');
    await waitFor('the result to leave the stream', async () =>
      (await pendingMessages(jsm, STREAM_RESULTS, subject)) === 0 ? true : undefined,
    );
    const lines = await logLines(`writer-${cluster}`);
    expect(lines.filter((l) => l.includes('message terminated'))).toHaveLength(1);
  });
});
