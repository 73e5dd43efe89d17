import { failureKey, type ScanFailureRecord } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { createFailureHolds } from './failure-holds.ts';
import { createFakeTime } from './testing/fake-time.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const record = (namespace: string, image: string, retryInMs: number, failures = 1): ScanFailureRecord => ({
  v: 1,
  image,
  namespace,
  code: 'UNAUTHORIZED',
  message: 'no',
  permanent: true,
  failures,
  firstFailedAt: new Date(T0).toISOString(),
  lastFailedAt: new Date(T0).toISOString(),
  retryAt: new Date(T0 + retryInMs).toISOString(),
});

function setup() {
  const time = createFakeTime(T0);
  const records = new Map<string, ScanFailureRecord>();
  const due: string[] = [];
  const holds = createFailureHolds({
    records: { get: (ns, image) => records.get(failureKey(ns, image)) },
    clock: time,
    timers: time,
    onDue: (ns, image) => due.push(`${ns}/${image}`),
  });
  const put = (r: ScanFailureRecord) => records.set(failureKey(r.namespace, r.image), r);
  return { time, records, due, holds, put };
}

describe('failure holds', () => {
  it('asks when there is no record, holds before retryAt, retries after it as the record’s round', async () => {
    const { time, holds, put } = setup();
    expect(holds.decide('ns', 'r/a:1')).toEqual({ kind: 'ask' });
    put(record('ns', 'r/a:1', 60_000, 3));
    expect(holds.decide('ns', 'r/a:1')).toEqual({ kind: 'hold', until: T0 + 60_000 });
    expect(holds.decide('other', 'r/a:1')).toEqual({ kind: 'ask' });
    await time.advance(60_000);
    expect(holds.decide('ns', 'r/a:1')).toEqual({ kind: 'retry', round: 3 });
  });

  it('keeps one timer, to the earliest retryAt, and tells each image when its time comes', async () => {
    const { time, holds, put, due } = setup();
    for (const [image, ms] of [
      ['r/a:1', 90_000],
      ['r/b:1', 30_000],
      ['r/c:1', 60_000],
    ] as const) {
      put(record('ns', image, ms));
      holds.decide('ns', image);
    }
    expect(time.timers).toBe(1);
    expect(holds.held).toBe(3);
    await time.advance(30_000);
    expect(due).toEqual(['ns/r/b:1']);
    expect(time.timers).toBe(1);
    await time.advance(60_000);
    expect(due).toEqual(['ns/r/b:1', 'ns/r/c:1', 'ns/r/a:1']);
    expect(time.timers).toBe(0);
    expect(holds.held).toBe(0);
  });

  it('wakes at the retryAt of a record it was told of, and forgets a hold whose record went', async () => {
    const { time, holds, put, records, due } = setup();
    const r = record('ns', 'r/a:1', 10_000);
    put(r);
    holds.recorded(r);
    await time.advance(10_000);
    expect(due).toEqual(['ns/r/a:1']);
    put(record('ns', 'r/b:1', 20_000));
    holds.decide('ns', 'r/b:1');
    records.clear();
    expect(holds.decide('ns', 'r/b:1')).toEqual({ kind: 'ask' });
    expect(time.timers).toBe(0);
    holds.stop();
  });

  it('evaluates the owners at once when a record is deleted before its retryAt, not after it', async () => {
    const { time, holds, put, records, due } = setup();
    const r = record('ns', 'r/a:1', 60_000);
    put(r);
    holds.decide('ns', 'r/a:1');
    records.clear();
    holds.removed(r);
    expect(due).toEqual(['ns/r/a:1']);
    expect(time.timers).toBe(0);
    await time.advance(60_000);
    holds.removed(r); // a success after retryAt: nothing due
    expect(due).toEqual(['ns/r/a:1']);
  });
});
