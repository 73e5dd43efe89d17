import {
  type Consumption,
  clusterOf,
  consume,
  type DeadLetters,
  type Delivery,
  forSubject,
  LANES,
  type Lane,
  type Outcome,
  STREAM_SCAN,
  scanConsumer,
} from '@fleetscan/bus';
import type { Logger } from '@fleetscan/service';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import type { ScannerMetrics } from './metrics.ts';

export interface ScanLanesOptions<T extends { cluster: string }> {
  type: 'image' | 'config';
  js: JetStreamClient;
  /** The request's schema; a message must also name the cluster of its subject (forSubject). */
  schema: z.ZodType<T>;
  handle(lane: Lane, req: T, at: Delivery): Promise<Outcome>;
  /** Messages handled at once in each lane. */
  concurrency: number;
  requestTimeoutMs: number;
  metrics: ScannerMetrics;
  logger: Logger;
  /** Stops both lanes' pulls (a worker aborts it in its stop, killing its running work too). */
  signal: AbortSignal;
  deadLetters?: DeadLetters;
}

/**
 * A kind of scan request consumed in both lanes, each with its own durable consumer and slots:
 * an urgent request never waits for a bulk one's slot. An invalid message is counted as a failed
 * request of its cluster before it is terminated.
 */
export function createScanLanes<T extends { cluster: string }>(o: ScanLanesOptions<T>) {
  const consumptions = new Map<Lane, Consumption>();
  const consumeLane = (lane: Lane) =>
    consume({
      js: o.js,
      stream: STREAM_SCAN,
      consumer: scanConsumer(o.type, lane),
      schemaFor: (subject) => forSubject(o.schema, subject),
      handle: (req, at) => o.handle(lane, req, at),
      concurrency: o.concurrency,
      metrics: o.metrics.consume,
      logger: o.logger,
      signal: o.signal,
      handlerTimeoutMs: o.requestTimeoutMs,
      ...(o.deadLetters && { deadLetters: o.deadLetters }),
      onTerm: (t) => {
        if (t.ending !== 'invalid') return;
        const cluster = clusterOf(t.subject);
        o.metrics.requests.inc({ type: o.type, outcome: 'invalid', cluster });
        o.metrics.failures.inc({ type: o.type, reason: 'INVALID_MESSAGE', cluster });
      },
    });
  return {
    async start(): Promise<void> {
      for (const lane of LANES) consumptions.set(lane, await consumeLane(lane));
    },
    /** A lane's messages held, and its handlers stuck past their bound (for /readyz). */
    held: (lane: Lane) => consumptions.get(lane)?.held() ?? { count: 0, oldestMs: 0, stuck: 0 },
    /** Stops pulling; held messages go back to the stream. */
    async stop(): Promise<void> {
      await Promise.all([...consumptions.values()].map((c) => c.stop()));
    },
  };
}
