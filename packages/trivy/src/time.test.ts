import { describe, expect, it } from 'vitest';
import { rfc3339 } from './time.ts';

describe('rfc3339 (Go time.RFC3339 output)', () => {
  it.each([
    ['2021-09-23T13:15:00Z', '2021-09-23T13:15:00Z'],
    ['2021-09-23T13:15:00.123456789Z', '2021-09-23T13:15:00Z'],
    ['2021-09-23T13:15:00.5+02:00', '2021-09-23T13:15:00+02:00'],
    ['2021-09-23 13:15:00Z', '2021-09-23T13:15:00Z'],
    ['not a date', 'not a date'],
  ])('%s -> %s', (input, out) => {
    expect(rfc3339(input)).toBe(out);
  });
});
