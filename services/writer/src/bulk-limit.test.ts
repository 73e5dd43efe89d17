import { describe, expect, it } from 'vitest';
import { createBulkLimit } from './bulk-limit.ts';

describe('the bulk lane’s limit, learned from the API server’s latency', () => {
  const setup = (max = 8) => {
    let nowMs = 0;
    const limit = createBulkLimit({ max, now: () => nowMs });
    /** `n` writes of `ms` each, one after the other. */
    const writes = (n: number, ms: number, queued = true) => {
      for (let i = 0; i < n; i++) {
        nowMs += ms;
        limit.record(ms, queued);
      }
    };
    return { limit, writes, advance: (ms: number) => (nowMs += ms) };
  };

  it('starts at one and grows by about one per round of writes while they stay fast, up to max', () => {
    const { limit, writes } = setup(4);
    expect(limit.current).toBe(1);
    writes(1, 10);
    expect(limit.current).toBe(2);
    writes(2, 10);
    expect(limit.current).toBe(3);
    writes(100, 10);
    expect(limit.current).toBe(4);
  });

  it('does not grow while no write waits for a slot (nothing to gain from more)', () => {
    const { limit, writes } = setup();
    writes(50, 10, false);
    expect(limit.current).toBe(1);
  });

  it('ignores a write timed across a step back of the clock', () => {
    const { limit, writes } = setup();
    writes(40, 10);
    limit.record(-5_000, true);
    writes(1, 12);
    expect(limit.current).toBe(8);
  });

  it('comes down while writes take over twice the baseline, once per latency at most, never below one', () => {
    const { limit, writes } = setup();
    writes(40, 10);
    expect(limit.current).toBe(8);
    // The server queues them: 8 in flight take 100 ms each.
    writes(1, 100);
    expect(limit.current).toBe(8); // smoothed: one slow write alone decides nothing
    writes(3, 100);
    expect(limit.current).toBeLessThan(8);
    writes(40, 100);
    expect(limit.current).toBe(1);
  });

  it('follows a server that became slower for everyone: the baseline is of the last one or two windows', () => {
    const { limit, writes, advance } = setup();
    writes(40, 10);
    writes(40, 60);
    expect(limit.current).toBe(1);
    // Two windows later only the new latency is remembered: 60 ms is the server's pace now.
    advance(60_000);
    writes(1, 60);
    advance(60_000);
    writes(40, 60);
    expect(limit.current).toBe(8);
  });

  it('slow writes that end together come down once: they were all in flight when it was decided', () => {
    let nowMs = 0;
    const limit = createBulkLimit({ max: 8, now: () => nowMs });
    for (let i = 0; i < 40; i++) {
      nowMs += 10;
      limit.record(10, true);
    }
    expect(limit.current).toBe(8);
    nowMs += 300;
    for (let i = 0; i < 8; i++) limit.record(300, false);
    expect(limit.current).toBe(6);
  });
});
