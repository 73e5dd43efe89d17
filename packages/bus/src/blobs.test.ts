import { describe, expect, it } from 'vitest';
import { createBytesCache } from './blobs.ts';

const bytes = (n: number) => new Uint8Array(n);

describe('createBytesCache', () => {
  it('serves an entry only for the put it was read from', () => {
    const c = createBytesCache(100);
    c.set('a', 'n1', bytes(10));
    expect(c.get('a', 'n1')?.length).toBe(10);
    expect(c.get('a', 'n2')).toBeUndefined();
    c.set('a', 'n2', bytes(20));
    expect(c.get('a', 'n1')).toBeUndefined();
    expect(c.size).toBe(20);
  });

  it('drops the least recently used entries beyond its byte budget', () => {
    const c = createBytesCache(100);
    c.set('a', 'n', bytes(40));
    c.set('b', 'n', bytes(40));
    c.get('a', 'n');
    c.set('c', 'n', bytes(40));
    expect(c.get('b', 'n')).toBeUndefined();
    expect(c.get('a', 'n')).toBeDefined();
    expect(c.get('c', 'n')).toBeDefined();
    expect(c.size).toBe(80);
  });

  it('keeps nothing larger than the budget, and nothing at all with a budget of 0', () => {
    const c = createBytesCache(50);
    c.set('big', 'n', bytes(60));
    expect(c.get('big', 'n')).toBeUndefined();
    const off = createBytesCache(0);
    off.set('a', 'n', bytes(1));
    expect(off.get('a', 'n')).toBeUndefined();
    expect(off.size).toBe(0);
  });
});
