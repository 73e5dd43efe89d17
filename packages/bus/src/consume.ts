import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, type Clock, type Logger, systemClock } from '@fleetscan/service';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import { BusError, BusErrorCode, decode } from './codec.ts';
import type { ConsumeMetrics } from './consume-metrics.ts';
import {
  bounded,
  DEFAULT_RETRY,
  type Decision,
  decide,
  isLastDelivery,
  type Outcome,
  type RetryPolicy,
} from './retry-policy.ts';

/** One delivery of a message, as a handler sees it. */
export interface Delivery {
  subject: string;
  /** Stream sequence. */
  seq: number;
  /** 1-based: how many times JetStream has delivered the message, this time included. */
  delivery: number;
  /**
   * JetStream will not deliver it again (max_deliver). A handler that must leave a trace (the
   * scanner's error result) does it now; a retry asked for now ends in a term.
   */
  lastDelivery: boolean;
  /** Nats-Msg-Id, or `<stream>.<seq>`: stable across deliveries, for ids of what the handler publishes. */
  id: string;
  /**
   * When the stream stored the message (the server's clock): the same on every delivery, so a
   * handler can bound how long it keeps retrying whatever times the message itself claims.
   */
  storedAt: Date;
  /** Aborted when the consumer stops: long work (a trivy run) should end so the message goes back. */
  signal: AbortSignal;
}

export interface ConsumeOptions<T> {
  js: JetStreamClient;
  stream: string;
  /** A durable pull consumer. Its ack_wait (keep-alive period) and max_deliver are read from the server. */
  consumer: string;
  /** The schema of messages on `subject`; undefined for a subject this consumer does not read (poison). */
  schemaFor(subject: string): z.ZodType<T> | undefined;
  /** Returns what to do with the message; a thrown error is a retry with backoff. */
  handle(message: T, delivery: Delivery): Promise<Outcome>;
  /** Messages held at once: being handled, or waiting inside a handler (for a batch, say). */
  concurrency: number;
  metrics: ConsumeMetrics;
  logger: Logger;
  retry?: Partial<Pick<RetryPolicy, 'baseMs' | 'maxMs'>>;
  /** Aborting it stops the consumer, as stop() does. */
  signal?: AbortSignal;
  /** How long stop() lets running handlers end before handing their messages back. Default 10 s. */
  shutdownGraceMs?: number;
  /** Pull request expiry (JetStream's minimum is 1 s). Default 2 s. */
  pullExpiresMs?: number;
  /** Every term (poison, a handler's term, exhausted retries), for counters a service keeps itself. */
  onTerm?(t: { ending: 'invalid' | 'term' | 'exhausted'; subject: string; reason: string }): void;
  clock?: Clock;
  random?: () => number;
}

export interface Consumption {
  /**
   * Stops pulling, lets running handlers end (their signal is aborted) for the grace period, and
   * hands back every message still held with a nak without delay. Idempotent.
   */
  stop(): Promise<void>;
  /** How many messages are held now, and for how long the oldest has been: a stuck handler shows. */
  held(): { count: number; oldestMs: number };
}

/**
 * The one way a fleetscan service consumes a JetStream durable pull consumer. It owns pulling (one
 * fetch per round for as many messages as there is room for), decoding with zod (poison is
 * terminated and counted), in-progress acks for every held message, the retry policy
 * (retry-policy.ts) and its max_deliver handling, metrics, and shutdown. Handlers only return an
 * Outcome.
 */
export async function consume<T>(o: ConsumeOptions<T>): Promise<Consumption> {
  const consumer = await o.js.consumers.get(o.stream, o.consumer);
  const { config } = await consumer.info(true);
  const ackWaitMs = (config.ack_wait ?? 30_000_000_000) / 1_000_000;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.retry, maxDeliver: config.max_deliver ?? -1 };
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const labels = { consumer: o.consumer };
  const log = o.logger.child({ consumer: o.consumer });
  const expires = o.pullExpiresMs ?? 2000;
  const abort = new AbortController();

  /** Held messages and since when; a message leaves when it is acked, naked or terminated. */
  const held = new Map<JsMsg, number>();
  let room: (() => void) | undefined;
  let drained: (() => void) | undefined;
  let pull: ConsumerMessages | undefined;

  // One timer for every held message: while a handler runs (or waits for a batch) JetStream must
  // not hand the message to another replica.
  const keepAlive = setInterval(
    () => {
      for (const m of held.keys()) safely(() => m.working(), 'in-progress ack');
    },
    Math.max(100, ackWaitMs / 3),
  );
  keepAlive.unref();

  function safely(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      // The connection is closing: the server redelivers after ack_wait.
      log.debug({ err: bounded(String(err)) }, `${what} not sent`);
    }
  }

  function end(m: JsMsg, d: Decision): void {
    if (!held.delete(m)) return; // already handed back at shutdown
    o.metrics.held.dec(labels);
    o.metrics.messages.inc({ ...labels, outcome: d.ending });
    const where = { subject: bounded(m.subject, 200), seq: m.seq, delivery: m.info.deliveryCount };
    if (d.action === 'ack') safely(() => m.ack(), 'ack');
    else if (d.action === 'nak') {
      safely(() => (d.delayMs > 0 ? m.nak(d.delayMs) : m.nak()), 'nak');
      if (d.ending === 'retry') log.debug({ ...where, retryInMs: d.delayMs }, 'message will be retried');
    } else {
      const reason = bounded(d.reason);
      safely(() => m.term(reason), 'term');
      log.warn({ ...where, ending: d.ending, reason }, 'message terminated');
      o.onTerm?.({ ending: d.ending, subject: m.subject, reason });
    }
    room?.();
    room = undefined;
    if (held.size === 0) drained?.();
  }

  const handBack = (delivery: number): Decision =>
    decide({ kind: 'retry', reason: 'the consumer stopped' }, { delivery, stopping: true }, policy);

  function start(m: JsMsg): void {
    held.set(m, clock.now().getTime());
    o.metrics.held.inc(labels);
    const delivery = m.info.deliveryCount;
    if (abort.signal.aborted) {
      end(m, handBack(delivery));
      return;
    }
    let message: T;
    try {
      const schema = o.schemaFor(m.subject);
      if (!schema) throw new BusError(BusErrorCode.InvalidMessage, 'not a subject this consumer reads');
      message = decode(schema, m.data);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      end(m, decide({ kind: 'invalid', reason }, { delivery, stopping: false }, policy));
      return;
    }
    const d: Delivery = {
      subject: m.subject,
      seq: m.seq,
      delivery,
      lastDelivery: isLastDelivery(delivery, policy),
      id: m.headers?.get('Nats-Msg-Id') || `${m.info.stream}.${m.seq}`,
      storedAt: m.time,
      signal: abort.signal,
    };
    void Promise.resolve()
      .then(() => o.handle(message, d))
      .catch((err: unknown): Outcome => {
        const reason = bounded(err instanceof Error ? err.message : String(err));
        log.warn({ subject: bounded(m.subject, 200), seq: m.seq, delivery, err: reason }, 'handler failed');
        return { kind: 'retry', reason };
      })
      .then((outcome) =>
        end(m, decide(outcome, { delivery, stopping: abort.signal.aborted }, policy, random)),
      );
  }

  const loop = (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      const free = o.concurrency - held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          room = resolve;
        });
        continue;
      }
      const began = performance.now();
      let got = 0;
      let failure: string | undefined;
      try {
        // One pull request for every free slot: a request per message costs nats-server a request each.
        pull = await consumer.fetch({ max_messages: free, expires });
        for await (const m of pull) {
          got++;
          start(m);
        }
        // A pull that ends at once with nothing (the server refusing it) must not turn into a spin.
        if (got === 0 && performance.now() - began < expires / 2)
          failure = 'pull ended early without messages';
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      } finally {
        pull = undefined;
      }
      if (failure === undefined || abort.signal.aborted) {
        failures = 0;
        continue;
      }
      failures++;
      o.metrics.pullErrors.inc(labels);
      const delay = backoff(failures - 1, 500, 30_000, random);
      log.warn({ err: bounded(failure), retryInMs: delay }, 'pull failed; backing off');
      await sleep(delay, undefined, { signal: abort.signal }).catch(() => {});
    }
  })();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      abort.abort();
      pull?.stop();
      room?.();
      await loop;
      if (held.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          drained = resolve;
          timer = setTimeout(resolve, o.shutdownGraceMs ?? 10_000);
        });
        clearTimeout(timer);
      }
      const left = [...held.keys()];
      if (left.length > 0)
        log.warn({ messages: left.length }, 'handing back messages whose handlers did not end');
      for (const m of left) end(m, handBack(m.info.deliveryCount));
      clearInterval(keepAlive);
    })();
    return stopping;
  };
  if (o.signal?.aborted) void stop();
  o.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    stop,
    held() {
      const now = clock.now().getTime();
      let oldest = now;
      for (const since of held.values()) oldest = Math.min(oldest, since);
      return { count: held.size, oldestMs: now - oldest };
    },
  };
}
