import { describe, expect, it } from 'vitest';
import { createRefreshQueue } from './refresh.ts';
import { createFakeTime } from './testing/fake-time.ts';

/** A queue over fake time that records what it sends. */
function recording(batchSize: number, intervalMs: number) {
  const time = createFakeTime();
  const sent: number[] = [];
  const q = createRefreshQueue<number>({
    batchSize,
    intervalMs,
    timers: time,
    send: async (n) => void sent.push(n),
  });
  return { time, sent, q };
}

describe('refresh queue', () => {
  it('sends at most batchSize per interval, one at a time and evenly spaced, and each key once', async () => {
    const { time, sent, q } = recording(4, 40);
    for (let i = 0; i < 7; i++) q.add(`k${i}`, i);
    q.add('k0', 99);
    await time.advance(9);
    expect(sent).toEqual([]);
    await time.advance(1);
    expect(sent).toEqual([0]);
    await time.advance(10);
    expect(sent).toEqual([0, 1]);
    await time.advance(20);
    expect(sent).toEqual([0, 1, 2, 3]);
    await time.advance(30);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(q.size).toBe(0);
    q.stop();
    expect(time.timers).toBe(0);
  });

  it('rounds the spacing up, so an interval never carries more than batchSize', async () => {
    const { time, sent, q } = recording(3, 40);
    for (let i = 0; i < 10; i++) q.add(`k${i}`, i);
    await time.advance(40);
    expect(sent).toHaveLength(2);
    await time.advance(40);
    expect(sent.length).toBeLessThanOrEqual(6);
    q.stop();
  });

  it('a failed send is reported and does not stop the ones after it', async () => {
    const time = createFakeTime();
    const sent: number[] = [];
    const errors: unknown[] = [];
    const q = createRefreshQueue<number>({
      batchSize: 10,
      intervalMs: 10,
      timers: time,
      send: async (n) => {
        if (n === 1) throw new Error('publish failed');
        sent.push(n);
      },
      onError: (err) => errors.push(err),
    });
    for (let i = 0; i < 3; i++) q.add(`k${i}`, i);
    await time.advance(3);
    expect(sent).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
    q.stop();
  });

  it("sends the first item of each shared group ahead of the groups' other items, each group's in arrival order", async () => {
    const time = createFakeTime();
    const sent: string[] = [];
    const q = createRefreshQueue<string>({
      batchSize: 100,
      intervalMs: 100,
      timers: time,
      send: async (s) => void sent.push(s),
    });
    // An image in three namespaces, another in two, a config refresh (no group), a third image.
    q.add('a1', 'a1', 'img-a');
    q.add('a2', 'a2', 'img-a');
    q.add('b1', 'b1', 'img-b');
    q.add('a3', 'a3', 'img-a');
    q.add('cfg', 'cfg');
    q.add('b2', 'b2', 'img-b');
    q.add('c1', 'c1', 'img-c');
    q.add('a2', 'again', 'img-a'); // queued already
    expect(q.size).toBe(7);
    await time.advance(7);
    expect(sent).toEqual(['a1', 'b1', 'cfg', 'c1', 'a2', 'a3', 'b2']);
    expect(q.size).toBe(0);
    // Once a group's items all went out, a new one of it leads again.
    q.add('x', 'x', 'img-x');
    q.add('x2', 'x2', 'img-x');
    q.add('a4', 'a4', 'img-a');
    await time.advance(3);
    expect(sent.slice(7)).toEqual(['x', 'a4', 'x2']);
    q.stop();
  });
});
