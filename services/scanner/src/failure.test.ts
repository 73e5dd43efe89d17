import { encode, ImageScanResultSchema, MAX_ERROR_MESSAGE_LENGTH } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { RegistryLookupError, ScanErrorCode } from './errors.ts';
import { classifyFailure, endsWithError } from './failure.ts';

describe('classifyFailure', () => {
  it('cuts a message to fit an error result, so the result can always be published', () => {
    const huge = `registry answered HTTP 500 for r/app:${'x'.repeat(900_000)}`;
    for (const err of [
      new RegistryLookupError(ScanErrorCode.Transient, huge, { status: 500 }),
      Object.assign(new Error(huge), { code: 'FAILED' }),
    ]) {
      const f = classifyFailure(err, ['pa55word']);
      expect(f.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_LENGTH);
      expect(f.message).toMatch(/… \(\d+ more\)$/);
      const result = encode(ImageScanResultSchema, {
        v: 1,
        cluster: 'c1',
        image: 'r/app:1',
        namespace: 'ns',
        scanConfigHash: 'h',
        status: 'error',
        cached: false,
        error: f,
        finishedAt: new Date().toISOString(),
      });
      expect(result.length).toBeLessThan(8 * 1024);
    }
  });

  it('redacts the request password', () => {
    const f = classifyFailure(new Error('GET http://robot:pa55word@reg/v2/'), ['pa55word']);
    expect(f.message).toBe('GET http://robot:[redacted]@reg/v2/');
  });
});

describe('endsWithError', () => {
  const at = (delivery: number, lastDelivery = false) => ({ delivery, lastDelivery });
  it('publishes a permanent failure at once, a transient one on delivery SCAN_ATTEMPTS (or the last)', () => {
    expect(endsWithError({ permanent: true }, at(1), 3)).toBe(true);
    expect(endsWithError({ permanent: false }, at(1), 3)).toBe(false);
    expect(endsWithError({ permanent: false }, at(2), 3)).toBe(false);
    expect(endsWithError({ permanent: false }, at(3), 3)).toBe(true);
    expect(endsWithError({ permanent: false }, at(1), 1)).toBe(true);
    expect(endsWithError({ permanent: false }, at(2, true), 20)).toBe(true);
  });
});
