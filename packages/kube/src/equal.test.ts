import { describe, expect, it } from 'vitest';
import { deepEqual, equalIgnoringResourceVersion } from './equal.ts';

describe('deepEqual', () => {
  it('compares JSON-shaped values structurally', () => {
    expect(deepEqual({ a: [1, { b: 'x' }], c: null }, { c: null, a: [1, { b: 'x' }] })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual('1', 1)).toBe(false);
  });

  it('treats an undefined property as absent', () => {
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
});

describe('equalIgnoringResourceVersion', () => {
  it('ignores only a top-level resourceVersion', () => {
    expect(
      equalIgnoringResourceVersion({ name: 'a', resourceVersion: '1' }, { name: 'a', resourceVersion: '2' }),
    ).toBe(true);
    expect(
      equalIgnoringResourceVersion({ name: 'a', resourceVersion: '1' }, { name: 'b', resourceVersion: '1' }),
    ).toBe(false);
    expect(
      equalIgnoringResourceVersion({ x: { resourceVersion: '1' } }, { x: { resourceVersion: '2' } }),
    ).toBe(false);
  });
});
