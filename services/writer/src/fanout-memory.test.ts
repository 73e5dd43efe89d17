import { describe, expect, it } from 'vitest';
import { createFanoutMemory, RECENT_FANOUT_MS } from './fanout-memory.ts';
import { createFakeTime } from './testing/fake-time.ts';
import { IMAGE, result } from './testing/fixtures.ts';

describe('fan-out memory', () => {
  it('recalls a namespace’s last fan-out of an image, in that namespace only', () => {
    const memory = createFanoutMemory({ clock: createFakeTime() });
    memory.remember(result);
    expect(memory.recall('team-a', IMAGE, 'a')).toBe(result);
    expect(memory.recall('team-b', IMAGE, 'a')).toBeUndefined();
    expect(memory.recall('team-a', 'r/other:1', 'a')).toBeUndefined();
    const later = { ...result, finishedAt: '2026-11-26T10:05:00Z' };
    memory.remember(later);
    expect(memory.recall('team-a', IMAGE, 'a')).toBe(later);
    expect(memory.size()).toBe(1);
  });

  it('forgets a fan-out after 10 minutes', async () => {
    const time = createFakeTime();
    const memory = createFanoutMemory({ clock: time });
    memory.remember(result);
    await time.advance(RECENT_FANOUT_MS - 1);
    expect(memory.recall('team-a', IMAGE, 'a')).toBe(result);
    await time.advance(1);
    expect(memory.recall('team-a', IMAGE, 'a')).toBeUndefined();
    // Expired entries leave with the next fan-out.
    memory.remember({ ...result, namespace: 'team-b' });
    expect(memory.size()).toBe(1);
  });

  it('is bounded: past its size the oldest fan-outs go first', async () => {
    const time = createFakeTime();
    const memory = createFanoutMemory({ clock: time, max: 3 });
    for (const ns of ['n1', 'n2', 'n3']) {
      memory.remember({ ...result, namespace: ns });
      await time.advance(1000);
    }
    // n1 fanned out again: it is now the newest.
    memory.remember({ ...result, namespace: 'n1' });
    memory.remember({ ...result, namespace: 'n4' });
    expect(memory.size()).toBe(3);
    expect(['n1', 'n2', 'n3', 'n4'].map((ns) => memory.recall(ns, IMAGE, 'a') !== undefined)).toEqual([
      true,
      false,
      true,
      true,
    ]);
  });

  it('keeps one fan-out per owner filter, and recalls the one for the owner', () => {
    const memory = createFanoutMemory({ clock: createFakeTime() });
    const mine = { ...result, scanConfigHash: 'p1', ownerFilter: { names: ['api-*'] } };
    const rest = { ...result, scanConfigHash: 'p0', ownerFilter: { exceptNames: ['api-*'] } };
    memory.remember(mine);
    memory.remember(rest);
    expect(memory.size()).toBe(2);
    expect(memory.recall('team-a', IMAGE, 'api-7d9f')).toBe(mine);
    expect(memory.recall('team-a', IMAGE, 'web-5c8b')).toBe(rest);
  });
});
