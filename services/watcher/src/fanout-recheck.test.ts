import { describe, expect, it } from 'vitest';
import { createFanoutRecheck } from './fanout-recheck.ts';
import { createFakeTime } from './testing/fake-time.ts';

function recheck(waiting: () => string[]) {
  const time = createFakeTime();
  const looks: number[] = [];
  const asked: string[][] = [];
  const r = createFanoutRecheck({
    timers: time,
    firstMs: 5000,
    retries: 4,
    waiting: () => {
      looks.push(time.nowMs);
      return waiting();
    },
    onWaiting: (_ns, _image, owners) => asked.push(owners),
  });
  return { time, r, looks, asked };
}

describe('fan-out re-check', () => {
  it('looks 5 s after the last report, then 10, 20, 40 and 80 s apart while owners wait', async () => {
    const { time, r, looks, asked } = recheck(() => ['b']);
    r.reportLanded('ns', 'img');
    await time.advance(3000);
    r.reportLanded('ns', 'img'); // another report of the same fan-out: one look, after the last
    await time.advance(600_000);
    expect(looks).toEqual([8000, 18_000, 38_000, 78_000, 158_000]);
    expect(asked).toHaveLength(5);
    expect(r.size).toBe(0);
  });

  it('stops looking once no owner waits', async () => {
    let waiting = ['b'];
    const { time, r, looks } = recheck(() => waiting);
    r.reportLanded('ns', 'img');
    await time.advance(5000);
    waiting = [];
    await time.advance(600_000);
    expect(looks).toEqual([5000, 15_000]);
    expect(r.size).toBe(0);
  });

  it('keeps one look per image and namespace', async () => {
    const { time, r } = recheck(() => []);
    r.reportLanded('ns1', 'img');
    r.reportLanded('ns2', 'img');
    r.reportLanded('ns1', 'img');
    expect(r.size).toBe(2);
    r.stop();
    r.reportLanded('ns1', 'other');
    expect(r.size).toBe(0);
    expect(time.timers).toBe(0);
  });
});
