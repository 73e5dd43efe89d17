import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BusErrorCode,
  type ConsumeOptions,
  type Consumption,
  consume,
  createConsumeMetrics,
  createDeadLetters,
  DeadLetterHeader,
  type Delivery,
  ensureStreams,
  isBusError,
  MAX_DELIVERIES_METADATA,
  pendingMessages,
  STREAM_DEAD,
  subjects,
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
  // fleetscan's streams, for FLEETSCAN_DEAD: this server is the test's own.
  await ensureStreams(jsm);
});

afterAll(async () => {
  await nc?.close();
  await nats?.process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * A work-queue stream `S_<id>` on subjects `S_<id>.*` with one durable pull consumer `w`. With
 * `limitInMetadata` the delivery limit is set as fleetscan's topology sets it (metadata, JetStream's
 * max_deliver unlimited); otherwise as JetStream's max_deliver.
 */
async function queue(opts: { ackWaitMs: number; maxDeliver: number; limitInMetadata?: boolean }) {
  const stream = `S_${uniq()}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.*`], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(stream, {
    durable_name: 'w',
    ack_policy: AckPolicy.Explicit,
    ack_wait: opts.ackWaitMs * 1_000_000,
    ...(opts.limitInMetadata
      ? { max_deliver: -1, metadata: { [MAX_DELIVERIES_METADATA]: String(opts.maxDeliver) } }
      : { max_deliver: opts.maxDeliver }),
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
        deadLetters: createDeadLetters({ js }),
        ...over,
      });
      running.push(c);
      return c;
    },
    count: (outcome: string) => metricValue(registry, 'fleetscan_consumer_messages_total', { outcome }),
    metric: (name: string, labels: Record<string, string> = {}) => metricValue(registry, name, labels),
    info: () => jsm.consumers.info(stream, 'w'),
    /** This queue's dead letters: headers, and the kept body's size. */
    async deadLetters() {
      const letters: { headers: Record<string, string>; bodyBytes: number }[] = [];
      const info = await jsm.streams.info(STREAM_DEAD);
      for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(STREAM_DEAD, { seq }).catch(() => null);
        if (!m || m.header.get(DeadLetterHeader.Stream) !== stream) continue;
        const headers: Record<string, string> = {};
        for (const k of Object.values(DeadLetterHeader)) if (m.header.has(k)) headers[k] = m.header.get(k);
        letters.push({ headers, bodyBytes: m.data.length });
      }
      return letters;
    },
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

  it('terminated messages are kept as dead letters: why, where from, and a bounded prefix', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 5 });
    await q.start(async () => ({ kind: 'term', reason: 'never' }));
    const big = `{not json ${'x'.repeat(100_000)}`;
    await q.publish(big);
    await q.publish({ n: 7 });
    await waitFor('two dead letters', async () => {
      const l = await q.deadLetters();
      return l.length === 2 ? l : undefined;
    });
    const letters = (await q.deadLetters()).sort((a, b) => a.bodyBytes - b.bodyBytes);
    expect(letters[0]?.headers).toMatchObject({
      [DeadLetterHeader.Consumer]: 'w',
      [DeadLetterHeader.Subject]: `${q.stream}.in`,
      [DeadLetterHeader.Ending]: 'term',
      [DeadLetterHeader.Reason]: 'never',
      [DeadLetterHeader.Deliveries]: '1',
    });
    expect(letters[1]?.headers).toMatchObject({
      [DeadLetterHeader.Ending]: 'invalid',
      [DeadLetterHeader.Reason]: 'message is not JSON',
      [DeadLetterHeader.Size]: String(big.length),
    });
    expect(letters[1]?.bodyBytes).toBe(16 * 1024);
    expect(await q.metric('fleetscan_consumer_dead_letters_total', { result: 'kept' })).toBe(2);
    expect((await jsm.streams.info(STREAM_DEAD)).config.subjects).toEqual([subjects.allDead]);
    await q.close();
  });

  it('a last delivery that was never answered comes back once more and is terminated, not left in the queue', async () => {
    // As fleetscan's topology sets consumers up: the limit in metadata, JetStream's unlimited.
    const q = await queue({ ackWaitMs: 1000, maxDeliver: 3, limitInMetadata: true });
    await q.publish({ n: 1 });
    // Three deliveries nobody answers: a replica that died during each, the last one included.
    const raw = await js.consumers.get(q.stream, 'w');
    for (let i = 1; i <= 3; i++) {
      const m = await raw.next({ expires: 5000 });
      expect(m?.info.deliveryCount).toBe(i);
    }
    const handled: number[] = [];
    await q.start(async (_m, at) => {
      handled.push(at.delivery);
      return { kind: 'retry', reason: 'still failing' };
    });
    await waitFor('the term', async () => ((await q.count('exhausted')) === 1 ? true : undefined));
    expect(handled).toEqual([]);
    expect(q.terms).toEqual([
      { ending: 'exhausted', reason: 'delivery 4 is past the limit of 3: the last one was never answered' },
    ]);
    await waitFor('the queue empty', async () =>
      (await pendingMessages(jsm, q.stream, `${q.stream}.>`)) === 0 ? true : undefined,
    );
    await q.close();
  });

  it('pending counts what the queue really holds: delayed naks, and messages JetStream gave up on', async () => {
    const q = await queue({ ackWaitMs: 1000, maxDeliver: 2 });
    await q.publish({ n: 1 });
    await q.publish({ n: 2 });
    const raw = await js.consumers.get(q.stream, 'w');
    // n=1 reaches JetStream's max_deliver unanswered; n=2 waits out a long nak.
    const seen = new Map<number, number>();
    for (let i = 0; i < 10 && (seen.get(1) ?? 0) < 2; i++) {
      const m = await raw.next({ expires: 3000 });
      if (!m) continue;
      const n = (m.json() as { n: number }).n;
      seen.set(n, (seen.get(n) ?? 0) + 1);
      if (n === 2) m.nak(120_000);
    }
    expect(seen.get(1)).toBe(2);
    // Once n=1's last ack_wait runs out, a replica's next pull makes JetStream give it up; from then
    // on what the consumer reports leaves it out: only n=2 is left.
    await waitFor('JetStream to give up on n=1', async () => {
      const m = await raw.next({ expires: 1000 });
      if (m) throw new Error(`unexpected delivery ${m.info.deliveryCount} of ${m.string()}`);
      const i = await q.info();
      return i.num_pending + i.num_ack_pending === 1 ? true : undefined;
    });
    expect(await pendingMessages(jsm, q.stream, `${q.stream}.>`)).toBe(2);
    await q.close();
  });

  it('a handler past its bound is aborted; one that ignores it is stuck: counted, and its message goes to another delivery', async () => {
    const q = await queue({ ackWaitMs: 1000, maxDeliver: 5 });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reasons: unknown[] = [];
    const deliveries: number[] = [];
    const c = await q.start(
      async (_m, at) => {
        deliveries.push(at.delivery);
        if (at.delivery > 1) return { kind: 'ack' };
        // Ignores its signal, like a scan waiting on a pipe nobody closes.
        at.signal.addEventListener('abort', () => reasons.push(at.signal.reason), { once: true });
        await Promise.race([released, sleep(60_000)]);
        return { kind: 'ack' };
      },
      { handlerTimeoutMs: 300, stuckGraceMs: 300 },
    );
    await q.publish({ n: 1 });
    await waitFor('the stuck handler shown', async () =>
      c.held().stuck === 1 && (await q.metric('fleetscan_consumer_stuck_handlers')) === 1 ? true : undefined,
    );
    expect(reasons).toHaveLength(1);
    expect(isBusError(reasons[0], BusErrorCode.Deadline)).toBe(true);
    // No longer kept alive: JetStream redelivers it after ack_wait, and the free slot takes it.
    await waitFor('the redelivery acked', async () => ((await q.count('ack')) === 1 ? true : undefined));
    expect(deliveries).toEqual([1, 2]);
    release();
    await waitFor('the stuck handler ended', async () =>
      c.held().count === 0 && (await q.metric('fleetscan_consumer_stuck_handlers')) === 0 ? true : undefined,
    );
    await q.close();
  });

  it('keep-alive follows an ack_wait another replica shortened meanwhile', async () => {
    const q = await queue({ ackWaitMs: 30_000, maxDeliver: 5 });
    const deliveries: number[] = [];
    await q.start(
      async (_m, at) => {
        deliveries.push(at.delivery);
        if (at.delivery === 1) await sleep(6000);
        return { kind: 'ack' };
      },
      // Its only slot busy: the pull loop waits for room while the work goes on.
      { configRefreshMs: 200, concurrency: 1 },
    );
    await q.publish({ n: 1 });
    await waitFor('the handler running', async () => (deliveries.length === 1 ? true : undefined));
    // A newer replica's ensureConsumer: 30 s becomes 2 s while the message is held.
    await jsm.consumers.update(q.stream, 'w', { ack_wait: 2000 * 1_000_000 });
    await waitFor('the slow handler to finish', async () => ((await q.count('ack')) >= 1 ? true : undefined));
    expect(deliveries).toEqual([1]);
    expect((await q.info()).num_redelivered).toBe(0);
    await q.close();
  });
});
