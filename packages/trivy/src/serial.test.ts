import { describe, expect, it } from 'vitest';
import { createSerial } from './serial.ts';

const gate = () => {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
};

describe('createSerial', () => {
  it('runs one job at a time in the order given, past a job that fails', async () => {
    const run = createSerial();
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const first = gate();
    const job =
      (name: string, opts: { wait?: Promise<void>; fail?: boolean } = {}) =>
      async () => {
        running++;
        most = Math.max(most, running);
        order.push(name);
        await opts.wait;
        running--;
        if (opts.fail) throw new Error(name);
        return name;
      };
    const a = run(job('a', { wait: first.opened }));
    const b = run(job('b', { fail: true }));
    const c = run(job('c'));
    await Promise.resolve();
    expect(order).toEqual(['a']);
    first.open();
    expect(await a).toBe('a');
    await expect(b).rejects.toThrow('b');
    expect(await c).toBe('c');
    expect(order).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
  });

  it('runs a job that throws at once as a rejection', async () => {
    const run = createSerial();
    await expect(
      run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await run(async () => 1)).toBe(1);
  });
});
