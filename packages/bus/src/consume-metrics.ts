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
      help: 'Deliveries by consumer and how they ended: ack; retry (nak with a jittered delay); term (the handler gave up); invalid (poison: not JSON, wrong shape or subject, a field past its limit; terminated); exhausted (a retry asked for on the last delivery, or a delivery past the limit because the last one was never answered: terminated); returned (handed back at shutdown).',
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
    stuck: new Gauge({
      name: 'fleetscan_consumer_stuck_handlers',
      help: 'Handlers still running past their bound and its grace (a stuck slot), by consumer; their messages are no longer kept alive, so another replica takes them.',
      labelNames: ['consumer'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'fleetscan_consumer_dead_letters_total',
      help: 'Terminated messages kept in the dead-letter stream FLEETSCAN_DEAD (kept) or that could not be (failed), by consumer.',
      labelNames: ['consumer', 'result'] as const,
      registers,
    }),
  };
}

export type ConsumeMetrics = ReturnType<typeof createConsumeMetrics>;
