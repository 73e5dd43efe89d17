import { backoff } from '@fleetscan/service';

/**
 * What a handler decided for one delivery of a message. Handlers never touch the JetStream message:
 * they return this, and the policy below turns it into an ack, a nak with a delay or a term.
 */
export type Outcome =
  /** Done, or nothing to do. */
  | { kind: 'ack' }
  /**
   * Try again later (transient: a registry or the API server unreachable, a write failed). Without
   * `delayMs` the policy's backoff decides when; with it, not sooner than `delayMs`.
   */
  | { kind: 'retry'; reason: string; delayMs?: number }
  /** Never try again (a permanent failure the handler could not turn into a result). */
  | { kind: 'term'; reason: string };

export interface RetryPolicy {
  /** Delay ceiling of the first retry; it doubles per delivery up to maxMs. */
  baseMs: number;
  maxMs: number;
  /**
   * The delivery limit: the last delivery is this one; 0 or less means unlimited. fleetscan's
   * consumers keep it in their metadata (topology.ts) with JetStream's own max_deliver unlimited,
   * so a last delivery that is never answered comes back once more and is terminated.
   */
  maxDeliver: number;
}

export const DEFAULT_RETRY: Pick<RetryPolicy, 'baseMs' | 'maxMs'> = { baseMs: 1000, maxMs: 60_000 };

/** How a delivery ended; also the `outcome` label of the consume metrics. */
export type Ending =
  | 'ack'
  /** nak with a delay: redelivered later. */
  | 'retry'
  /** The handler asked for term. */
  | 'term'
  /** Poison: not JSON, the wrong shape, or a subject this consumer does not read. */
  | 'invalid'
  /**
   * A retry was asked for on the last delivery, or a delivery came past the limit (the last one was
   * never answered: its replica died, or its handler was stuck): terminated.
   */
  | 'exhausted'
  /** Handed back at shutdown (nak without delay) so another replica takes it now. */
  | 'returned';

export type Decision =
  | { action: 'ack'; ending: 'ack' }
  | { action: 'nak'; delayMs: number; ending: 'retry' | 'returned' }
  | { action: 'term'; reason: string; ending: 'term' | 'invalid' | 'exhausted' };

/** Whether JetStream will not deliver this message again after `delivery` (1-based). */
export function isLastDelivery(delivery: number, policy: Pick<RetryPolicy, 'maxDeliver'>): boolean {
  return policy.maxDeliver > 0 && delivery >= policy.maxDeliver;
}

/**
 * A delivery past the limit: the last one ended without an answer (its replica died, or its
 * handler was stuck and no longer kept alive). It is terminated before any handler sees it, so no
 * message stays in a work queue that JetStream would not deliver again.
 */
export function pastLimit(delivery: number, policy: Pick<RetryPolicy, 'maxDeliver'>): Decision | undefined {
  if (policy.maxDeliver <= 0 || delivery <= policy.maxDeliver) return undefined;
  return {
    action: 'term',
    reason: `delivery ${delivery} is past the limit of ${policy.maxDeliver}: the last one was never answered`,
    ending: 'exhausted',
  };
}

/**
 * The delay before the next delivery after `delivery` failed. Every retry is jittered, so many
 * messages failing together (an API server outage) do not all come back in the same instant:
 * the backoff spreads over the upper half of its ceiling (packages/service backoff); a delay
 * the handler asked for is a floor, spread over up to half as much again.
 */
export function retryDelay(
  delivery: number,
  requestedMs: number | undefined,
  policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>,
  random: () => number = Math.random,
): number {
  if (requestedMs !== undefined) return Math.round(Math.max(0, requestedMs) * (1 + random() / 2));
  return backoff(Math.max(0, delivery - 1), policy.baseMs, policy.maxMs, random);
}

/**
 * The whole policy in one place: what happens to a delivery given what the handler said (or that
 * the message could not be decoded), which delivery it was, and whether the service is stopping.
 */
export function decide(
  outcome: Outcome | { kind: 'invalid'; reason: string },
  at: { delivery: number; stopping: boolean },
  policy: RetryPolicy,
  random: () => number = Math.random,
): Decision {
  switch (outcome.kind) {
    case 'ack':
      return { action: 'ack', ending: 'ack' };
    case 'term':
      return { action: 'term', reason: outcome.reason, ending: 'term' };
    case 'invalid':
      return { action: 'term', reason: outcome.reason, ending: 'invalid' };
    case 'retry':
      // Nothing redelivers a message after its last delivery: a nak would leave it in the stream
      // for good, unseen. End it where it can be seen (counted, logged, an advisory).
      if (isLastDelivery(at.delivery, policy)) {
        return {
          action: 'term',
          reason: `gave up after ${at.delivery} deliveries: ${outcome.reason}`,
          ending: 'exhausted',
        };
      }
      // Stopping: whatever failed may have failed because we stop; another replica takes it now.
      if (at.stopping) return { action: 'nak', delayMs: 0, ending: 'returned' };
      return {
        action: 'nak',
        delayMs: retryDelay(at.delivery, outcome.delayMs, policy, random),
        ending: 'retry',
      };
  }
}

/** Cuts text that may come from a message (a reason, a subject) to a bounded length for logs and terms. */
export function bounded(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more)`;
}
