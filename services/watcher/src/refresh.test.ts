import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createRefreshQueue } from './refresh.ts';

describe('refresh queue', () => {
  it('sends at most batchSize per interval and each key once', async () => {
    const sent: number[] = [];
    const q = createRefreshQueue<number>({
      batchSize: 3,
      intervalMs: 40,
      send: async (n) => void sent.push(n),
    });
    for (let i = 0; i < 7; i++) q.add(`k${i}`, i);
    q.add('k0', 99);
    await sleep(60);
    expect(sent.length).toBeLessThanOrEqual(3);
    await sleep(200);
    q.stop();
    expect(sent.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
