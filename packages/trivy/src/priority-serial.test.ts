import { describe, expect, it } from 'vitest';
import { createPrioritySerial } from './priority-serial.ts';

const gate = () => {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
};

describe('createPrioritySerial', () => {
  it('runs one job at a time, urgent jobs before the bulk jobs already waiting', async () => {
    const s = createPrioritySerial();
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const first = gate();
    const job = (name: string, wait?: Promise<void>) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      await wait;
      running--;
      return name;
    };
    const all = [
      s.run(false, job('bulk-1', first.opened)),
      s.run(false, job('bulk-2')),
      s.run(false, job('bulk-3')),
      s.run(true, job('urgent-1')),
      s.run(true, job('urgent-2')),
    ];
    expect(s.waiting).toBe(4);
    first.open();
    expect(await Promise.all(all)).toEqual(['bulk-1', 'bulk-2', 'bulk-3', 'urgent-1', 'urgent-2']);
    expect(order).toEqual(['bulk-1', 'urgent-1', 'urgent-2', 'bulk-2', 'bulk-3']);
    expect(most).toBe(1);
  });

  it('goes on after a failed job, and passes its error to its caller only', async () => {
    const s = createPrioritySerial();
    const failing = s.run(false, () => Promise.reject(new Error('boom')));
    const thrown = s.run(true, () => {
      throw new Error('sync');
    });
    await expect(failing).rejects.toThrow('boom');
    await expect(thrown).rejects.toThrow('sync');
    expect(await s.run(false, async () => 'next')).toBe('next');
  });
});
