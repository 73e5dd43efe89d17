import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, type Clock, type Logger, systemClock } from '@fleetscan/service';
import type { ConsumerConfig, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import { BusError, BusErrorCode, decode } from './codec.ts';
import type { ConsumeMetrics } from './consume-metrics.ts';
import type { DeadLetters } from './dead-letters.ts';
import {
  bounded,
  DEFAULT_RETRY,
  type Decision,
  decide,
  isLastDelivery,
  type Outcome,
  pastLimit,
  type RetryPolicy,
} from './retry-policy.ts';
import { MAX_DELIVERIES_METADATA } from './topology.ts';

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
  /**
   * Aborted when the consumer stops, or when the handler runs past its bound (handlerTimeoutMs):
   * long work (a trivy run, a lock wait) should end. The reason tells which: a BusError with code
   * STOPPING (the message goes back) or DEADLINE.
   */
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
  /** Where terminated messages are kept for inspection (dead-letters.ts). */
  deadLetters?: DeadLetters;
  /**
   * A pull that failed (before its backoff): the writer looks its consumer up, and asks the
   * scanners for it again when it is gone.
   */
  onPullFailure?(failure: string): void;
  /**
   * The most a handler may take. Past it the delivery's signal is aborted (DEADLINE); a handler
   * still running `stuckGraceMs` later is stuck: counted, shown by held(), and no longer kept alive,
   * so JetStream hands its message to another replica after ack_wait. Unbounded when undefined.
   */
  handlerTimeoutMs?: number;
  /** Default 30 s. */
  stuckGraceMs?: number;
  /** How often the consumer's ack_wait and delivery limit are read again. Default 30 s. */
  configRefreshMs?: number;
  clock?: Clock;
  random?: () => number;
}

export interface Consumption {
  /**
   * Stops pulling, lets running handlers end (their signal is aborted) for the grace period, and
   * hands back every message still held with a nak without delay. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * How many messages are held now, for how long the oldest has been, and how many handlers are
   * stuck (still running past their bound and its grace): for /readyz.
   */
  held(): { count: number; oldestMs: number; stuck: number };
}

/** The delivery limit consume() enforces: the consumer's metadata (topology.ts), else its max_deliver. */
export function deliveryLimit(config: Pick<ConsumerConfig, 'max_deliver' | 'metadata'>): number {
  const fromMetadata = Number(config.metadata?.[MAX_DELIVERIES_METADATA]);
  if (Number.isInteger(fromMetadata) && fromMetadata > 0) return fromMetadata;
  return config.max_deliver ?? -1;
}

interface Held {
  since: number;
  /** The delivery's own signal: consumer stop or the handler's deadline. */
  abort: AbortController;
  timers: NodeJS.Timeout[];
  /** Past its bound and grace: not kept alive any more. */
  stuck: boolean;
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
  let ackWaitMs = ackWaitOf(config);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.retry, maxDeliver: deliveryLimit(config) };
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const labels = { consumer: o.consumer };
  // Shown as 0 from the start, so dashboards and alerts tell "none stuck" from "not reporting".
  o.metrics.stuck.inc(labels, 0);
  o.metrics.held.inc(labels, 0);
  const log = o.logger.child({ consumer: o.consumer });
  const expires = o.pullExpiresMs ?? 2000;
  const stuckGraceMs = o.stuckGraceMs ?? 30_000;
  const refreshMs = o.configRefreshMs ?? 30_000;
  const abort = new AbortController();
  const stopped = new BusError(BusErrorCode.Stopping, 'the consumer stopped');

  /** Held messages; a message leaves when it is acked, naked or terminated. */
  const held = new Map<JsMsg, Held>();
  let room: (() => void) | undefined;
  let drained: (() => void) | undefined;
  let pull: ConsumerMessages | undefined;

  // One timer for every held message: while a handler runs (or waits for a batch) JetStream must
  // not hand the message to another replica. A stuck handler's message is let go.
  let keepAlive: NodeJS.Timeout | undefined;
  const startKeepAlive = () => {
    clearInterval(keepAlive);
    keepAlive = setInterval(
      () => {
        for (const [m, h] of held) if (!h.stuck) safely(() => m.working(), 'in-progress ack');
      },
      Math.max(100, ackWaitMs / 3),
    );
    keepAlive.unref();
  };
  startKeepAlive();

  // Another replica (a newer version) may change the consumer: a shorter ack_wait would get the
  // messages we hold redelivered while we still work on them, unless our keep-alive follows. A timer
  // of its own: while every slot is busy with long work, the pull loop does not come round.
  const refresh = setInterval(() => {
    consumer.info().then(
      (i) => {
        policy.maxDeliver = deliveryLimit(i.config);
        const next = ackWaitOf(i.config);
        if (next === ackWaitMs) return;
        log.info({ ackWaitMs: next, was: ackWaitMs }, 'consumer ack_wait changed; keep-alive follows');
        ackWaitMs = next;
        startKeepAlive();
      },
      (err: unknown) => log.debug({ err: bounded(String(err)) }, 'consumer config not read again'),
    );
  }, refreshMs);
  refresh.unref();

  function safely(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      // The connection is closing: the server redelivers after ack_wait.
      log.debug({ err: bounded(String(err)) }, `${what} not sent`);
    }
  }

  function end(m: JsMsg, d: Decision): void {
    const h = held.get(m);
    if (!h) return; // already handed back at shutdown
    held.delete(m);
    for (const t of h.timers) clearTimeout(t);
    if (h.stuck) o.metrics.stuck.dec(labels);
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
      keepDeadLetter(m, d.ending, reason);
    }
    room?.();
    room = undefined;
    if (held.size === 0) drained?.();
  }

  function keepDeadLetter(m: JsMsg, ending: 'invalid' | 'term' | 'exhausted', reason: string): void {
    if (!o.deadLetters) return;
    o.deadLetters
      .keep({
        consumer: o.consumer,
        stream: m.info.stream,
        subject: m.subject,
        seq: m.seq,
        deliveries: m.info.deliveryCount,
        ending,
        reason,
        data: m.data,
        msgId: m.headers?.get('Nats-Msg-Id') || undefined,
      })
      .then(
        () => o.metrics.deadLetters.inc({ ...labels, result: 'kept' }),
        (err: unknown) => {
          o.metrics.deadLetters.inc({ ...labels, result: 'failed' });
          log.warn({ seq: m.seq, err: bounded(String(err)) }, 'dead letter not kept');
        },
      );
  }

  const handBack = (delivery: number): Decision =>
    decide({ kind: 'retry', reason: 'the consumer stopped' }, { delivery, stopping: true }, policy);

  /** The handler's bound: abort its signal, and past the grace count it stuck and let its message go. */
  function bound(m: JsMsg, h: Held): void {
    const limit = o.handlerTimeoutMs;
    if (limit === undefined) return;
    const where = () => ({ subject: bounded(m.subject, 200), seq: m.seq, delivery: m.info.deliveryCount });
    h.timers.push(
      setTimeout(() => {
        if (!held.has(m)) return;
        log.warn({ ...where(), boundMs: limit }, 'handler ran past its bound; aborting it');
        h.abort.abort(new BusError(BusErrorCode.Deadline, `the handler ran past its bound of ${limit} ms`));
        h.timers.push(
          setTimeout(() => {
            if (held.get(m) !== h) return;
            h.stuck = true;
            o.metrics.stuck.inc(labels);
            log.error(
              { ...where(), heldMs: clock.now().getTime() - h.since },
              'handler stuck past its bound; its message is no longer kept alive and goes to another replica',
            );
          }, stuckGraceMs),
        );
      }, limit),
    );
  }

  function start(m: JsMsg): void {
    const h: Held = { since: clock.now().getTime(), abort: new AbortController(), timers: [], stuck: false };
    held.set(m, h);
    o.metrics.held.inc(labels);
    const delivery = m.info.deliveryCount;
    if (abort.signal.aborted) {
      end(m, handBack(delivery));
      return;
    }
    const past = pastLimit(delivery, policy);
    if (past) {
      end(m, past);
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
      signal: h.abort.signal,
    };
    bound(m, h);
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
      o.onPullFailure?.(failure);
      const delay = backoff(failures - 1, 500, 30_000, random);
      log.warn({ err: bounded(failure), retryInMs: delay }, 'pull failed; backing off');
      await sleep(delay, undefined, { signal: abort.signal }).catch(() => {});
    }
  })();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      abort.abort(stopped);
      for (const h of held.values()) h.abort.abort(stopped);
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
      clearInterval(refresh);
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
      let stuck = 0;
      for (const h of held.values()) {
        oldest = Math.min(oldest, h.since);
        if (h.stuck) stuck++;
      }
      return { count: held.size, oldestMs: now - oldest, stuck };
    },
  };
}

function ackWaitOf(config: Pick<ConsumerConfig, 'ack_wait'>): number {
  return (config.ack_wait ?? 30_000_000_000) / 1_000_000;
}
