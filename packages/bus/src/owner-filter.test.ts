import { describe, expect, it } from 'vitest';
import { ownerFilterKey, ownerFilterMatches } from './owner-filter.ts';

describe('ownerFilterMatches', () => {
  it('takes every owner without a filter', () => {
    expect(ownerFilterMatches(undefined, 'anything')).toBe(true);
  });
  it('takes owners matching a name glob and none of the excepted globs', () => {
    const f = { names: ['my-app-*'], exceptNames: ['my-app-canary-*'] };
    expect(ownerFilterMatches(f, 'my-app-6d4cf56db6')).toBe(true);
    expect(ownerFilterMatches(f, 'my-app-canary-7f9')).toBe(false);
    expect(ownerFilterMatches(f, 'other-6d4cf56db6')).toBe(false);
  });
  it('with only exceptions, takes everyone else', () => {
    const f = { exceptNames: ['my-app-*', 'db-?'] };
    expect(ownerFilterMatches(f, 'web-1')).toBe(true);
    expect(ownerFilterMatches(f, 'db-1')).toBe(false);
    expect(ownerFilterMatches(f, 'my-app-x')).toBe(false);
  });
});

describe('ownerFilterKey', () => {
  it('is one spelling per filter, and tells filters apart', () => {
    expect(ownerFilterKey(undefined)).toBe('');
    expect(ownerFilterKey({ names: ['b', 'a', 'a'] })).toBe(ownerFilterKey({ names: ['a', 'b'] }));
    expect(ownerFilterKey({ names: ['a'] })).not.toBe(ownerFilterKey({ exceptNames: ['a'] }));
  });
});
