import { describe, expect, it } from 'vitest';
import { createWriteSlots } from './write-slots.ts';

describe('write slots', () => {
  it('runs at most `size` writes at once, the rest in arrival order, and goes on after a failure', async () => {
    const slots = createWriteSlots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const write = (i: number) =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        order.push(i);
        if (i === 1) throw new Error('apply failed');
      });
    const all = await Promise.allSettled([0, 1, 2, 3, 4].map(write));
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(all.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(slots.busy).toBe(0);
    expect(slots.waiting).toBe(0);
  });
});
