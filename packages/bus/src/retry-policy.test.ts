import { describe, expect, it } from 'vitest';
import { bounded, decide, isLastDelivery, pastLimit, type RetryPolicy, retryDelay } from './retry-policy.ts';

const policy: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxDeliver: 5 };
const at = (delivery: number, stopping = false) => ({ delivery, stopping });
const low = () => 0;
const high = () => 1;

describe('retry policy', () => {
  it('acks and terminates as the handler says, whichever delivery it is', () => {
    for (const delivery of [1, 5]) {
      expect(decide({ kind: 'ack' }, at(delivery), policy)).toEqual({ action: 'ack', ending: 'ack' });
      expect(decide({ kind: 'term', reason: 'bad' }, at(delivery), policy)).toEqual({
        action: 'term',
        reason: 'bad',
        ending: 'term',
      });
    }
  });

  it('terminates a delivery past the limit (its last one was never answered) before any handler sees it', () => {
    expect(pastLimit(5, policy)).toBeUndefined();
    expect(pastLimit(6, policy)).toEqual({
      action: 'term',
      reason: 'delivery 6 is past the limit of 5: the last one was never answered',
      ending: 'exhausted',
    });
    expect(pastLimit(1000, { maxDeliver: -1 })).toBeUndefined();
  });

  it('terminates poison as invalid, with its reason', () => {
    expect(decide({ kind: 'invalid', reason: 'message is not JSON' }, at(1), policy)).toEqual({
      action: 'term',
      reason: 'message is not JSON',
      ending: 'invalid',
    });
  });

  it('naks a retry with exponential backoff, jittered over the upper half of its ceiling', () => {
    const delays = (random: () => number) =>
      [1, 2, 3, 4].map((d) => {
        const r = decide({ kind: 'retry', reason: 'x' }, at(d), policy, random);
        expect(r).toMatchObject({ action: 'nak', ending: 'retry' });
        return r.action === 'nak' ? r.delayMs : -1;
      });
    expect(delays(high)).toEqual([1000, 2000, 4000, 8000]);
    expect(delays(low)).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelay(30, undefined, policy, high)).toBe(60_000);
  });

  it("keeps a handler's own delay as a floor, still jittered", () => {
    expect(retryDelay(3, 5000, policy, low)).toBe(5000);
    expect(retryDelay(3, 5000, policy, high)).toBe(7500);
    expect(retryDelay(3, 0, policy, high)).toBe(0);
    expect(decide({ kind: 'retry', reason: 'x', delayMs: 5000 }, at(1), policy, low)).toEqual({
      action: 'nak',
      delayMs: 5000,
      ending: 'retry',
    });
  });

  it('ends a retry asked for on the last delivery in a term saying why', () => {
    expect(isLastDelivery(4, policy)).toBe(false);
    expect(isLastDelivery(5, policy)).toBe(true);
    expect(decide({ kind: 'retry', reason: 'registry down' }, at(5), policy)).toEqual({
      action: 'term',
      reason: 'gave up after 5 deliveries: registry down',
      ending: 'exhausted',
    });
  });

  it('with unlimited deliveries, never gives up', () => {
    const unlimited = { ...policy, maxDeliver: -1 };
    expect(isLastDelivery(10_000, unlimited)).toBe(false);
    expect(decide({ kind: 'retry', reason: 'x' }, at(10_000), unlimited, low)).toMatchObject({
      action: 'nak',
    });
  });

  it('when stopping, hands a retry back at once, except on its last delivery', () => {
    expect(decide({ kind: 'retry', reason: 'killed', delayMs: 9000 }, at(2, true), policy)).toEqual({
      action: 'nak',
      delayMs: 0,
      ending: 'returned',
    });
    expect(decide({ kind: 'retry', reason: 'killed' }, at(5, true), policy)).toMatchObject({
      action: 'term',
      ending: 'exhausted',
    });
    expect(decide({ kind: 'ack' }, at(2, true), policy)).toMatchObject({ action: 'ack' });
  });

  it('bounds text from messages', () => {
    expect(bounded('short')).toBe('short');
    const long = bounded('x'.repeat(10_000), 100);
    expect(long.length).toBeLessThan(130);
    expect(long).toMatch(/\(9900 more\)$/);
  });
});
