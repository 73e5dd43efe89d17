import { describe, expect, it } from 'vitest';
import { createLinkClock, linkShape, MB } from './link-pacing.ts';

describe('the shaped link', () => {
  const shape = { connBytesPerSec: 1000, totalBytesPerSec: 1500, oneWayMs: 20 };

  it('delivers a connection’s bytes at its bandwidth, one way later', () => {
    const c = createLinkClock(shape).connection();
    expect(c.deliverAt(500, 0)).toBe(500 + 20);
    // Sent back to back: the second waits for the first.
    expect(c.deliverAt(500, 0)).toBe(1000 + 20);
    // After a pause the connection is free again.
    expect(c.deliverAt(100, 5000)).toBe(5100 + 20);
  });

  it('shares the link among connections: two at 1000 B/s each over a 1500 B/s link', () => {
    const link = createLinkClock(shape);
    const a = link.connection();
    const b = link.connection();
    const ends: number[] = [];
    for (let i = 0; i < 10; i++) {
      ends.push(a.deliverAt(150, 0), b.deliverAt(150, 0));
    }
    // 3000 bytes over the 1500 B/s link: 2 s, not the 1.5 s each connection alone would take.
    expect(Math.max(...ends)).toBe(2000 + 20);
    expect(link.bytes).toBe(3000);
  });

  it('keeps each connection in order', () => {
    const link = createLinkClock(shape);
    const a = link.connection();
    const b = link.connection();
    let last = 0;
    for (let i = 0; i < 50; i++) {
      b.deliverAt(200, i * 10);
      const at = a.deliverAt(100 + (i % 7) * 50, i * 10);
      expect(at).toBeGreaterThanOrEqual(last);
      last = at;
    }
  });

  it('takes MB/s and a round trip', () => {
    expect(linkShape({ connMbps: 20, totalMbps: 200, rttMs: 40 })).toEqual({
      connBytesPerSec: 20 * MB,
      totalBytesPerSec: 200 * MB,
      oneWayMs: 20,
    });
  });
});
