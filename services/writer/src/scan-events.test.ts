import type { ScanFailureRecord } from '@fleetscan/bus';
import { scanFailedEventName } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { buildScanFailedEvent } from './scan-events.ts';
import { owner } from './testing/fixtures.ts';

const record: ScanFailureRecord = {
  v: 1,
  image: 'registry.local/team/app:1',
  namespace: 'team-a',
  code: 'UNAUTHORIZED',
  message: 'authentication required',
  permanent: true,
  failures: 3,
  firstFailedAt: '2026-11-26T10:00:00.000Z',
  lastFailedAt: '2026-11-26T10:07:00.000Z',
  retryAt: '2026-11-26T10:11:00.000Z',
};

describe('ScanFailed events', () => {
  it('are Warnings on the report owner naming the code, the image, the attempts and the next retry', () => {
    const e = buildScanFailedEvent(owner('a'), record, 'c1');
    expect(e).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: 'team-a' },
      involvedObject: {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'a',
        namespace: 'team-a',
        uid: 'uid-team-a-a',
      },
      reason: 'ScanFailed',
      type: 'Warning',
      count: 3,
      firstTimestamp: record.firstFailedAt,
      lastTimestamp: record.lastFailedAt,
    });
    expect(e.message).toContain('UNAUTHORIZED');
    expect(e.message).toContain('registry.local/team/app:1');
    expect(e.message).toContain('3 attempts');
    expect(e.message).toContain('2026-11-26T10:11:00.000Z');
  });

  it('have one name per owner and image, so a repeat updates the Event instead of adding one', () => {
    const a = owner('a');
    expect(scanFailedEventName(a, 'x')).toBe(scanFailedEventName(a, 'x'));
    expect(scanFailedEventName(a, 'x')).not.toBe(scanFailedEventName(a, 'y'));
    expect(scanFailedEventName(a, 'x')).not.toBe(scanFailedEventName({ ...a, uid: 'other' }, 'x'));
    expect(scanFailedEventName({ ...a, name: 'n'.repeat(253) }, 'x').length).toBeLessThanOrEqual(253);
  });

  it('keep a long image reference and message bounded', () => {
    const e = buildScanFailedEvent(
      owner('a'),
      { ...record, image: `r/${'x'.repeat(500)}`, message: 'm'.repeat(1000) },
      'c1',
    );
    expect(e.message.length).toBeLessThanOrEqual(1024);
    expect(e.message).toContain('next retry at');
  });
});
