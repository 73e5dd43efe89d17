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

describe('write slots and urgent writes', () => {
  const held = () => {
    let release!: () => void;
    const p = new Promise<void>((r) => (release = r));
    return { p, release };
  };
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('while an urgent write runs, bulk writes start only up to whileUrgent in flight; after it, up to size again', async () => {
    const slots = createWriteSlots(3, 1);
    let running = 0;
    let most = 0;
    const gates = Array.from({ length: 6 }, held);
    const bulk = gates.map((g) =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        await g.p;
        running--;
      }),
    );
    await tick();
    expect(slots.busy).toBe(3);
    const urgentGate = held();
    const urgent = slots.urgent(() => urgentGate.p);
    // The three in flight finish; only one of the waiting ones may start while the urgent write runs.
    for (const g of gates.slice(0, 3)) g.release();
    await tick();
    expect(slots.busy).toBe(1);
    expect(slots.waiting).toBe(2);
    gates[3]?.release();
    await tick();
    expect(slots.busy).toBe(1);
    expect(slots.waiting).toBe(1);
    urgentGate.release();
    await urgent;
    await tick();
    expect(slots.busy).toBe(2);
    for (const g of gates) g.release();
    await Promise.all(bulk);
    expect(most).toBe(3);
    expect(slots.busy).toBe(0);
  });

  it('urgent writes never wait for bulk ones, and a failed urgent write lifts the hold', async () => {
    const slots = createWriteSlots(1, 1);
    const gate = held();
    const bulk = slots.run(() => gate.p);
    await tick();
    expect(await slots.urgent(async () => 'written')).toBe('written');
    await expect(slots.urgent(async () => Promise.reject(new Error('apply failed')))).rejects.toThrow();
    const more = slots.run(async () => 'next');
    gate.release();
    await bulk;
    expect(await more).toBe('next');
  });
});

describe('write slots with a learned limit', () => {
  it('keeps bulk writes to the limit, at most size, and tells it how long each written one took (not a failed one)', async () => {
    let nowMs = 0;
    const recorded: [number, boolean][] = [];
    let current = 1;
    const limit = {
      get current() {
        return current;
      },
      record: (ms: number, queued: boolean) => void recorded.push([ms, queued]),
      latency: undefined,
    };
    const slots = createWriteSlots(8, 1, { limit, now: () => nowMs });
    const write = (i: number) =>
      slots.run(async () => {
        await new Promise((r) => setTimeout(r, 1));
        nowMs += 10 * (i + 1);
        if (i === 2) throw new Error('namespace gone');
      });
    const writes = [0, 1, 2].map(write);
    await new Promise((r) => setImmediate(r));
    expect(slots.busy).toBe(1);
    expect(slots.waiting).toBe(2);
    await Promise.allSettled(writes);
    expect(recorded).toEqual([
      [10, true],
      [20, true],
    ]);
    current = 20;
    expect(slots.limit).toBe(8);
  });
});
