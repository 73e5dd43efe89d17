import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FAILURE_BACKOFF,
  type FailedScan,
  failureBackoffMs,
  failureKey,
  heldUntil,
  nextRecord,
  ScanFailureRecordSchema,
} from './scan-failures.ts';

const policy = { baseMs: 60_000, maxMs: 3_600_000 };
const top = () => 1;
const bottom = () => 0;

const failed = (over: Partial<FailedScan> = {}): FailedScan => ({
  namespace: 'team',
  image: 'registry.local/app:1',
  error: { code: 'NOT_FOUND', message: 'manifest unknown', permanent: true },
  finishedAt: '2026-01-01T00:00:10.000Z',
  requestedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('failure backoff', () => {
  it('doubles from the base to the cap, jittered over the upper half of its ceiling', () => {
    expect(failureBackoffMs(1, policy, top)).toBe(60_000);
    expect(failureBackoffMs(1, policy, bottom)).toBe(30_000);
    expect(failureBackoffMs(2, policy, top)).toBe(120_000);
    expect(failureBackoffMs(3, policy, top)).toBe(240_000);
    expect(failureBackoffMs(7, policy, top)).toBe(3_600_000);
    expect(failureBackoffMs(50, policy, top)).toBe(3_600_000);
    expect(failureBackoffMs(50, policy, bottom)).toBe(1_800_000);
    expect(DEFAULT_FAILURE_BACKOFF).toEqual(policy);
  });
});

describe('failure rounds', () => {
  it('starts a record at the first failure, retryAt one backoff after the error', () => {
    const r = nextRecord(undefined, failed(), policy, top);
    expect(r).toEqual({
      v: 1,
      image: 'registry.local/app:1',
      namespace: 'team',
      code: 'NOT_FOUND',
      message: 'manifest unknown',
      permanent: true,
      failures: 1,
      firstFailedAt: '2026-01-01T00:00:10.000Z',
      lastFailedAt: '2026-01-01T00:00:10.000Z',
      retryAt: '2026-01-01T00:01:10.000Z',
    });
    expect(ScanFailureRecordSchema.parse(r)).toEqual(r);
  });

  it('counts a request made after the last failure as a new round, keeping the first failure time', () => {
    const first = nextRecord(undefined, failed(), policy, top);
    const second = nextRecord(
      first,
      failed({
        requestedAt: '2026-01-01T00:01:11.000Z',
        finishedAt: '2026-01-01T00:01:14.000Z',
        error: { code: 'UNAUTHORIZED', message: 'no', permanent: true },
      }),
      policy,
      top,
    );
    expect(second).toMatchObject({
      failures: 2,
      code: 'UNAUTHORIZED',
      firstFailedAt: '2026-01-01T00:00:10.000Z',
      lastFailedAt: '2026-01-01T00:01:14.000Z',
      retryAt: '2026-01-01T00:03:14.000Z',
    });
  });

  it('does not count a failure of a request made before the round’s last failure (two requests in flight)', () => {
    const first = nextRecord(undefined, failed(), policy, top);
    const concurrent = failed({
      requestedAt: '2026-01-01T00:00:02.000Z',
      finishedAt: '2026-01-01T00:00:12.000Z',
    });
    expect(nextRecord(first, concurrent, policy, top)).toBeUndefined();
  });

  it('counts a failure without requestedAt (an older scanner) as a new round', () => {
    const first = nextRecord(undefined, failed(), policy, top);
    expect(nextRecord(first, failed({ requestedAt: undefined }), policy, top)?.failures).toBe(2);
  });

  it('cuts a long message to the record’s limit', () => {
    const r = nextRecord(
      undefined,
      failed({ error: { code: 'X', message: 'm'.repeat(5000), permanent: false } }),
      policy,
      top,
    );
    expect(r?.message.length).toBe(1000);
    expect(() => ScanFailureRecordSchema.parse(r)).not.toThrow();
  });

  it('holds a request until retryAt, and not after', () => {
    const r = nextRecord(undefined, failed(), policy, top);
    const retryAt = Date.parse('2026-01-01T00:01:10.000Z');
    expect(heldUntil(r, retryAt - 1)).toBe(retryAt);
    expect(heldUntil(r, retryAt)).toBeUndefined();
    expect(heldUntil(undefined, 0)).toBeUndefined();
  });
});

describe('failure keys', () => {
  it('are one per namespace and image, in KV’s key charset whatever the image is called', () => {
    const k = failureKey('team', 'registry.local:5000/a/b:1@sha256:abc');
    expect(k).toMatch(/^team\.[0-9a-f]{32}$/);
    expect(failureKey('team', 'x')).not.toBe(failureKey('other', 'x'));
    expect(failureKey('team', 'x')).not.toBe(failureKey('team', 'y'));
    expect(failureKey('team', 'x')).toBe(failureKey('team', 'x'));
  });
});
