import { describe, expect, it } from 'vitest';
import { FINISHED_AT_SKEW_MS, OWNER_GRACE_MS, ownerNotSeen, scanEnd } from './owner-grace.ts';

const stored = new Date('2026-11-26T10:00:02Z');
const at = { storedAt: stored };
const S = stored.getTime();

describe('owner grace', () => {
  it('waits for an owner for OWNER_GRACE_MS after the scan finished, then takes it as gone', () => {
    const r = { finishedAt: '2026-11-26T10:00:01Z' };
    const finished = Date.parse(r.finishedAt);
    expect(ownerNotSeen(r, at, finished + OWNER_GRACE_MS - 1)).toBe('wait');
    expect(ownerNotSeen(r, at, finished + OWNER_GRACE_MS)).toBe('gone');
  });

  it('a result that says it finished in the future waits no longer than one stored now', () => {
    const r = { finishedAt: '3000-01-01T00:00:00Z' };
    expect(scanEnd(r.finishedAt, stored)).toBe(S + FINISHED_AT_SKEW_MS);
    expect(ownerNotSeen(r, at, S + FINISHED_AT_SKEW_MS + OWNER_GRACE_MS - 1)).toBe('wait');
    expect(ownerNotSeen(r, at, S + FINISHED_AT_SKEW_MS + OWNER_GRACE_MS)).toBe('gone');
  });

  it('a finishedAt a little ahead of the stream (clock skew) counts as it is', () => {
    expect(scanEnd('2026-11-26T10:00:04Z', stored)).toBe(S + 2000);
  });

  it('a finishedAt that is not a time counts from when the stream stored the result', () => {
    expect(scanEnd('not a time', stored)).toBe(S + FINISHED_AT_SKEW_MS);
  });
});
