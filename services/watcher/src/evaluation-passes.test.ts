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

  it('an owner marked during a pass is evaluated by that pass, after the others', async () => {
    let marked = false;
    const { time, p, evaluated } = setup(async () => {
      if (marked) return;
      marked = true;
      p.mark('late');
      p.mark('b');
    });
    p.start();
    p.mark('a');
    p.mark('b');
    await time.advance(50);
    expect(evaluated).toEqual(['a', 'b', 'late', 'b']);
    expect(time.timers).toBe(0);
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
