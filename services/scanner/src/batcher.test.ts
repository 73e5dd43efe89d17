import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatcher } from './batcher.ts';

/** A batcher whose runs the test ends by hand; each run's output is the items upper-cased. */
function setup(maxSize = 3, waitMs = 250) {
  const runs: { items: string[]; done(): void; fail(err: Error): void }[] = [];
  const abort = new AbortController();
  const batcher = createBatcher<string, string>({
    maxSize,
    waitMs,
    signal: abort.signal,
    run: (items) =>
      new Promise((resolve, reject) => {
        runs.push({
          items: [...items],
          done: () => resolve(items.map((i) => i.toUpperCase())),
          fail: reject,
        });
      }),
  });
  return { batcher, runs, abort };
}

/** Lets promise callbacks (a run ending, the next starting) happen. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('adaptive batcher', () => {
  it('a lone item waits for company, then runs alone', async () => {
    const { batcher, runs } = setup();
    const a = batcher.submit('a');
    await vi.advanceTimersByTimeAsync(249);
    expect(runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.map((r) => r.items)).toEqual([['a']]);
    runs[0]?.done();
    await expect(a).resolves.toBe('A');
  });

  it('a full batch runs at once', async () => {
    const { batcher, runs } = setup(3);
    const outs = ['a', 'b', 'c'].map((i) => batcher.submit(i));
    await settle();
    expect(runs.map((r) => r.items)).toEqual([['a', 'b', 'c']]);
    runs[0]?.done();
    await expect(Promise.all(outs)).resolves.toEqual(['A', 'B', 'C']);
  });

  it('runs one at a time; what arrives meanwhile is the next batch, started as soon as the run ends', async () => {
    const { batcher, runs } = setup(10);
    const first = batcher.submit('a');
    await vi.advanceTimersByTimeAsync(250);
    const later = ['b', 'c', 'd'].map((i) => batcher.submit(i));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(1);
    expect(batcher.waiting).toBe(3);
    runs[0]?.done();
    await settle();
    // No second wait: the next run starts when the first ends, with everything that arrived.
    expect(runs.map((r) => r.items)).toEqual([['a'], ['b', 'c', 'd']]);
    runs[1]?.done();
    await expect(first).resolves.toBe('A');
    await expect(Promise.all(later)).resolves.toEqual(['B', 'C', 'D']);
  });

  it('never runs more than maxSize items at once', async () => {
    const { batcher, runs } = setup(2);
    const outs = ['a', 'b', 'c', 'd', 'e'].map((i) => batcher.submit(i));
    await settle();
    runs[0]?.done();
    await settle();
    runs[1]?.done();
    await settle();
    await vi.advanceTimersByTimeAsync(250);
    runs[2]?.done();
    expect(runs.map((r) => r.items)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    await expect(Promise.all(outs)).resolves.toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('a failed run rejects its own items only; the next run goes ahead', async () => {
    const { batcher, runs } = setup(2);
    const a = batcher.submit('a');
    const b = batcher.submit('b');
    const c = batcher.submit('c');
    await settle();
    runs[0]?.fail(new Error('trivy exited 1'));
    await expect(a).rejects.toThrow('trivy exited 1');
    await expect(b).rejects.toThrow('trivy exited 1');
    await vi.advanceTimersByTimeAsync(250);
    expect(runs[1]?.items).toEqual(['c']);
    runs[1]?.done();
    await expect(c).resolves.toBe('C');
  });

  it('stopping rejects waiting items and starts no run', async () => {
    const { batcher, runs, abort } = setup(2);
    const running = [batcher.submit('a'), batcher.submit('b')];
    await settle();
    const waiting = batcher.submit('c');
    abort.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    await expect(batcher.submit('d')).rejects.toThrow('stopping');
    runs[0]?.done();
    await expect(Promise.all(running)).resolves.toEqual(['A', 'B']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toHaveLength(1);
  });
});
