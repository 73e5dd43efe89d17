import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Counters of consume() (consume.ts), registered on the service's own registry: the same names in
 * every service, told apart by the `consumer` label (and by the pod when scraped).
 */
export function createConsumeMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'fleetscan_consumer_messages_total',
      help: 'Deliveries by consumer and how they ended: ack; retry (nak with a jittered delay); term (the handler gave up); invalid (poison: not JSON, wrong shape or subject; terminated); exhausted (a retry asked for on the last delivery: terminated); returned (handed back at shutdown).',
      labelNames: ['consumer', 'outcome'] as const,
      registers,
    }),
    pullErrors: new Counter({
      name: 'fleetscan_consumer_pull_errors_total',
      help: 'Pull requests that failed (or ended early empty), by consumer; each is followed by a jittered backoff.',
      labelNames: ['consumer'] as const,
      registers,
    }),
    held: new Gauge({
      name: 'fleetscan_consumer_held_messages',
      help: 'Messages held now (being handled, kept alive with in-progress acks), by consumer.',
      labelNames: ['consumer'] as const,
      registers,
    }),
  };
}

export type ConsumeMetrics = ReturnType<typeof createConsumeMetrics>;
