import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConsumeOptions,
  type Consumption,
  consume,
  createConsumeMetrics,
  type Delivery,
} from '@fleetscan/bus';
import { createLogger } from '@fleetscan/service';
import { loadStackConfig, locateTools, type Nats, startNats } from '@fleetscan/stack';
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { metricValue } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// consume() against a real nats-server of its own: each test makes its own work-queue stream and
// durable consumer with the ack_wait and max_deliver it needs.

const Msg = z.object({ n: z.number() });
type Msg = z.infer<typeof Msg>;
const enc = new TextEncoder();
const uniq = () => Math.random().toString(36).slice(2, 8);

let dir = '';
let nats: Nats | undefined;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  const tools = locateTools(loadStackConfig().cacheDir);
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-consume-'));
  nats = await startNats({ bin: tools.natsServer, dir, dieWithParent: true });
  nc = await connect(nats.connectOptions());
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A work-queue stream `S_<id>` on subjects `S_<id>.*` with one durable pull consumer `w`. */
async function queue(opts: { ackWaitMs: number; maxDeliver: number }) {
  const stream = `S_${uniq()}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.*`], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(stream, {
    durable_name: 'w',
    ack_policy: AckPolicy.Explicit,
    ack_wait: opts.ackWaitMs * 1_000_000,
    max_deliver: opts.maxDeliver,
  });
  const registry = new Registry();
  const metrics = createConsumeMetrics(registry);
  const lines: string[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  });
  const terms: { ending: string; reason: string }[] = [];
  const advisories: string[] = [];
  const sub = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${stream}.w`, {
    callback: (_err, m) => {
      advisories.push(String((m.json() as { reason?: string }).reason));
    },
  });
  const running: Consumption[] = [];
  return {
    stream,
    lines,
    terms,
    advisories,
    publish: (body: string | Msg, subject = 'in') =>
      js.publish(`${stream}.${subject}`, enc.encode(typeof body === 'string' ? body : JSON.stringify(body))),
    start: async (
      handle: ConsumeOptions<Msg>['handle'],
      over: Partial<ConsumeOptions<Msg>> = {},
    ): Promise<Consumption> => {
      const c = await consume<Msg>({
        js,
        stream,
        consumer: 'w',
        schemaFor: (subject) => (subject === `${stream}.in` ? Msg : undefined),
        handle,
        concurrency: 4,
        metrics,
        logger,
        pullExpiresMs: 1000,
        onTerm: (t) => terms.push({ ending: t.ending, reason: t.reason }),
        ...over,
      });
      running.push(c);
      return c;
    },
    count: (outcome: string) => metricValue(registry, 'fleetscan_consumer_messages_total', { outcome }),
    info: () => jsm.consumers.info(stream, 'w'),
    async close() {
      await Promise.all(running.map((c) => c.stop()));
      sub.unsubscribe();
      await jsm.streams.delete(stream);
    },
  };
}

describe('consume()', () => {
  it('terminates poison (not JSON, wrong shape, unknown subject) with its reason, counts it, and keeps going', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 5 });
    const seen: number[] = [];
    await q.start(async (m) => {
      seen.push(m.n);
      return { kind: 'ack' };
    });
    await q.publish('{not json');
    await q.publish('{"n":"one"}');
    await q.publish({ n: 0 }, 'elsewhere');
    await q.publish({ n: 1 });
    await waitFor('the good message handled and three terms', async () =>
      seen.length === 1 && (await q.count('invalid')) === 3 && q.advisories.length === 3 ? true : undefined,
    );
    expect(seen).toEqual([1]);
    expect(await q.count('ack')).toBe(1);
    expect(q.terms.map((t) => t.ending)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(q.advisories.sort()).toEqual(
      [
        'invalid message: n: Invalid input: expected number, received string',
        'message is not JSON',
        'not a subject this consumer reads',
      ].sort(),
    );
    await waitFor('nothing left to deliver', async () => {
      const i = await q.info();
      return i.num_ack_pending === 0 && i.num_pending === 0 ? true : undefined;
    });
    await q.close();
  });

  it('a retry with a delay is redelivered, then acked; each delivery says when the stream stored the message', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 5 });
    const deliveries: number[] = [];
    const storedAt: number[] = [];
    await q.start(async (_m, at) => {
      deliveries.push(at.delivery);
      storedAt.push(at.storedAt.getTime());
      return at.delivery === 1 ? { kind: 'retry', reason: 'not yet', delayMs: 300 } : { kind: 'ack' };
    });
    const before = Date.now();
    await q.publish({ n: 1 });
    await waitFor('the redelivery acked', async () => ((await q.count('ack')) === 1 ? true : undefined));
    const after = Date.now();
    expect(deliveries).toEqual([1, 2]);
    // When the stream stored it (the server's clock, this machine's), the same on both deliveries:
    // what the writer's owner grace counts from.
    expect(storedAt[1]).toBe(storedAt[0]);
    expect(storedAt[0]).toBeGreaterThanOrEqual(before - 1000);
    expect(storedAt[0]).toBeLessThanOrEqual(after + 1000);
    expect(await q.count('retry')).toBe(1);
    await q.close();
  });

  it('a thrown error is retried with backoff; a retry on the last delivery ends in a term saying why, logged once and bounded', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 3 });
    const seen: { delivery: number; last: boolean }[] = [];
    const huge = `registry answered 500: ${'x'.repeat(100_000)}`;
    await q.start(
      async (_m, at) => {
        seen.push({ delivery: at.delivery, last: at.lastDelivery });
        if (at.delivery === 1) throw new Error(huge);
        return { kind: 'retry', reason: 'registry unreachable' };
      },
      { retry: { baseMs: 100, maxMs: 200 } },
    );
    await q.publish({ n: 1 });
    await waitFor('the term', async () => ((await q.count('exhausted')) === 1 ? true : undefined));
    expect(seen).toEqual([
      { delivery: 1, last: false },
      { delivery: 2, last: false },
      { delivery: 3, last: true },
    ]);
    expect(await q.count('retry')).toBe(2);
    expect(q.terms).toEqual([
      { ending: 'exhausted', reason: 'gave up after 3 deliveries: registry unreachable' },
    ]);
    await waitFor('the term advisory', async () => (q.advisories.length === 1 ? true : undefined));
    expect(q.advisories).toEqual(['gave up after 3 deliveries: registry unreachable']);
    expect(q.lines.filter((l) => l.includes('message terminated'))).toHaveLength(1);
    expect(q.lines.some((l) => l.includes('handler failed'))).toBe(true);
    expect(Math.max(...q.lines.map((l) => l.length))).toBeLessThan(2000);
    const i = await q.info();
    expect(i.num_ack_pending).toBe(0);
    expect(i.num_pending).toBe(0);
    await q.close();
  });

  it('in-progress acks keep a slow handler’s message from redelivery past ack_wait', async () => {
    const q = await queue({ ackWaitMs: 2000, maxDeliver: 5 });
    const deliveries: number[] = [];
    await q.start(async (_m, at) => {
      deliveries.push(at.delivery);
      if (at.delivery === 1) await sleep(7000);
      return { kind: 'ack' };
    });
    await q.publish({ n: 1 });
    await waitFor('the slow handler to finish', async () => ((await q.count('ack')) >= 1 ? true : undefined));
    // Room for more (concurrency 4): a redelivery after ack_wait would have been fetched and handled.
    expect(deliveries).toEqual([1]);
    expect((await q.info()).num_redelivered).toBe(0);
    await q.close();
  });

  it('stopping hands held messages back at once, also when a handler ignores the signal', async () => {
    // ack_wait far above the wait below: the second consumer gets them because they were naked.
    const q = await queue({ ackWaitMs: 120_000, maxDeliver: 5 });
    const started: number[] = [];
    const first = await q.start(
      async (m, at: Delivery) => {
        started.push(m.n);
        if (m.n === 1) {
          await new Promise((resolve) => at.signal.addEventListener('abort', resolve, { once: true }));
          return { kind: 'retry', reason: 'stopped' };
        }
        return new Promise<never>(() => {}); // never ends
      },
      { shutdownGraceMs: 300 },
    );
    await q.publish({ n: 1 });
    await q.publish({ n: 2 });
    await waitFor('both held', async () => (first.held().count === 2 ? true : undefined));
    expect(started.sort()).toEqual([1, 2]);
    await first.stop();
    expect(first.held().count).toBe(0);
    expect(await q.count('returned')).toBe(2);
    const again: { n: number; delivery: number }[] = [];
    await q.start(async (m, at) => {
      again.push({ n: m.n, delivery: at.delivery });
      return { kind: 'ack' };
    });
    await waitFor('both redelivered', async () => (again.length === 2 ? true : undefined), 30_000);
    expect(again.sort((a, b) => a.n - b.n)).toEqual([
      { n: 1, delivery: 2 },
      { n: 2, delivery: 2 },
    ]);
    await q.close();
  });

  it('holds at most `concurrency` messages, and uses all of it', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 5 });
    for (let n = 0; n < 10; n++) await q.publish({ n });
    let running = 0;
    let most = 0;
    let full: () => void = () => {};
    const wasFull = new Promise<void>((resolve) => {
      full = resolve;
    });
    const c = await q.start(
      async () => {
        running++;
        most = Math.max(most, running);
        if (running === 3) full();
        // The first handlers wait until three run at once (bounded, in case they never do).
        await Promise.race([wasFull, sleep(10_000)]);
        await sleep(20);
        running--;
        return { kind: 'ack' };
      },
      { concurrency: 3 },
    );
    await waitFor('all ten acked', async () => ((await q.count('ack')) === 10 ? true : undefined));
    expect(most).toBe(3);
    expect(c.held().count).toBe(0);
    await q.close();
  });
});
