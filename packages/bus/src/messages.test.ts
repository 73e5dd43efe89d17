import { describe, expect, it } from 'vitest';
import { forSubject, ImageScanRequestSchema } from './messages.ts';
import { subjects } from './subjects.ts';

const request = (cluster: string) => ({
  v: 1,
  cluster,
  image: 'reg.example/app:1',
  namespace: 'team',
  scanners: ['vuln'],
  scanConfigHash: 'h',
  requestedAt: '2026-01-01T00:00:00Z',
});

describe('forSubject', () => {
  it("accepts a message naming its subject's cluster and refuses one naming another", () => {
    const schema = forSubject(ImageScanRequestSchema, subjects.scanImage('a'));
    expect(schema.safeParse(request('a')).success).toBe(true);
    const other = schema.safeParse(request('b'));
    expect(other.success).toBe(false);
    expect(other.error?.issues[0]?.path).toEqual(['cluster']);
  });
});
