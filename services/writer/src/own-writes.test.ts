import type { FailureEntry, ScanFailureRecord } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { createOwnWrites, OWN_WRITE_MS } from './own-writes.ts';

const record = (failures: number): ScanFailureRecord => ({
  v: 1,
  image: 'reg/app:1',
  namespace: 'team',
  code: 'NOT_FOUND',
  message: 'manifest unknown',
  permanent: true,
  failures,
  firstFailedAt: '2026-01-01T00:00:00Z',
  lastFailedAt: '2026-01-01T00:00:00Z',
  retryAt: '2026-01-01T00:01:00Z',
});
const entry = (failures: number, revision: number): FailureEntry => ({ record: record(failures), revision });

describe('what the writer wrote to its failures bucket, before its view (direct gets every 2 s) shows it', () => {
  it('a record it wrote counts at once, until the view holds that revision or a newer one', () => {
    let t = 0;
    const own = createOwnWrites(() => t);
    own.wrote('k', entry(1, 5));
    expect(own.get('k', undefined)).toEqual(entry(1, 5));
    expect(own.get('k', entry(0, 3))).toEqual(entry(1, 5));
    t = 1000;
    // The view caught up: it answers from now on (and the entry is forgotten).
    expect(own.get('k', entry(1, 5))).toEqual(entry(1, 5));
    expect(own.size).toBe(0);
    own.wrote('k', entry(2, 9));
    expect(own.get('k', entry(3, 12))).toEqual(entry(3, 12));
  });

  it('a key it deleted is gone at once, until the view shows the deletion or a newer write', () => {
    const own = createOwnWrites(() => 0);
    own.deleted('k', 5);
    expect(own.get('k', entry(1, 5))).toBeUndefined();
    // Someone wrote after the deletion: the view's newer record wins.
    expect(own.get('k', entry(2, 7))).toEqual(entry(2, 7));
    own.deleted('k', 7);
    expect(own.get('k', undefined)).toBeUndefined();
    expect(own.size).toBe(0);
  });

  it('forgets what it wrote after a while: the view is current by then', () => {
    let t = 0;
    const own = createOwnWrites(() => t);
    own.wrote('k', entry(1, 5));
    own.wrote('j', entry(1, 6));
    t = OWN_WRITE_MS;
    expect(own.get('k', undefined)).toBeUndefined();
    // Others are swept at the next write.
    own.wrote('i', entry(1, 7));
    expect(own.size).toBe(1);
  });
});
