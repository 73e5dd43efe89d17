import { describe, expect, it } from 'vitest';
import { createEvaluationPasses } from './evaluation-passes.ts';
import { createFakeTime } from './testing/fake-time.ts';

function setup(evaluate: (key: string) => Promise<void> = async () => {}) {
  const time = createFakeTime();
  const evaluated: string[] = [];
  const p = createEvaluationPasses({
    timers: time,
    delayMs: 50,
    retryAfterMs: 2000,
    evaluate: (key) => {
      evaluated.push(key);
      return evaluate(key);
    },
  });
  return { time, p, evaluated };
}

describe('evaluation passes', () => {
  it('accumulate marks until started, then evaluate a burst once, a moment after it began', async () => {
    const { time, p, evaluated } = setup();
    p.mark('a');
    p.mark('b');
    await time.advance(1000);
    expect(evaluated).toEqual([]);
    expect(p.dirty).toBe(2);
    p.start();
    p.mark('a');
    p.mark('c');
    await time.advance(49);
    expect(evaluated).toEqual([]);
    await time.advance(1);
    expect(evaluated).toEqual(['a', 'b', 'c']);
    expect(p.dirty).toBe(0);
  });

  it('an owner marked during a pass is evaluated by that pass, after the others; once if not reached yet', async () => {
    let marked = false;
    const { time, p, evaluated } = setup(async () => {
      if (marked) return;
      marked = true;
      p.mark('late');
      p.mark('b');
      p.mark('a');
    });
    p.start();
    p.mark('a');
    p.mark('b');
    await time.advance(50);
    // `a` was marked again after its evaluation began: evaluated again; `b` had not been reached.
    expect(evaluated).toEqual(['a', 'b', 'late', 'a']);
    expect(time.timers).toBe(0);
  });

  it('evaluates urgent marks before the bulk ones still waiting, in the lane they were marked in', async () => {
    const lanes: string[] = [];
    const time = createFakeTime();
    let first = true;
    const p = createEvaluationPasses({
      timers: time,
      delayMs: 50,
      retryAfterMs: 2000,
      evaluate: async (key, lane) => {
        lanes.push(`${key}:${lane}`);
        if (!first) return;
        first = false;
        // A workload created while the first list's backlog is being evaluated.
        p.mark('new', 'urgent');
        // Marked both ways: urgent wins; marked bulk after urgent: still urgent.
        p.mark('b3', 'urgent');
        p.mark('new', 'bulk');
      },
    });
    for (const k of ['b1', 'b2', 'b3', 'b4']) p.mark(k, 'bulk');
    p.start();
    await time.advance(50);
    expect(lanes).toEqual(['b1:bulk', 'new:urgent', 'b3:urgent', 'b2:bulk', 'b4:bulk']);
    p.retryLater('x', 'urgent');
    await time.advance(2050);
    expect(lanes.at(-1)).toBe('x:urgent');
  });

  it('marks an owner again after the retry delay, once however often it failed', async () => {
    const { time, p, evaluated } = setup();
    p.start();
    p.retryLater('a');
    p.retryLater('a');
    expect(p.retries).toBe(1);
    await time.advance(2049);
    expect(evaluated).toEqual([]);
    await time.advance(1);
    expect(evaluated).toEqual(['a']);
    expect(p.retries).toBe(0);
  });

  it('stop ends a pass after its current owner and cancels every timer', async () => {
    let release: () => void = () => {};
    const { time, p, evaluated } = setup((key) =>
      key === 'a' ? new Promise<void>((r) => (release = r)) : Promise.resolve(),
    );
    p.start();
    p.mark('a');
    p.mark('b');
    await time.advance(50);
    p.retryLater('c');
    const stopped = p.stop();
    release();
    await stopped;
    expect(evaluated).toEqual(['a']);
    p.mark('d');
    await time.advance(10_000);
    expect(evaluated).toEqual(['a']);
    expect(time.timers).toBe(0);
  });
});
