import { describe, expect, it } from 'vitest';
import { CronError, nextCronTime, parseCron } from './cron.ts';

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string) =>
  new Date(nextCronTime(parseCron(expr), at(after))).toISOString();

describe('nextCronTime (UTC, strictly after)', () => {
  it("trivy-operator's chart default: every 6 hours on the hour", () => {
    expect(next('0 */6 * * *', '2026-12-02T15:04:05Z')).toBe('2026-12-02T18:00:00.000Z');
    // At a firing time exactly, the next one: a report just computed is not due again.
    expect(next('0 */6 * * *', '2026-12-02T18:00:00Z')).toBe('2026-12-03T00:00:00.000Z');
  });

  it('every minute', () => {
    expect(next('* * * * *', '2026-12-02T15:04:05Z')).toBe('2026-12-02T15:05:00.000Z');
    expect(next('* * * * *', '2026-12-02T15:05:00Z')).toBe('2026-12-02T15:06:00.000Z');
  });

  it('month and weekday names, lists, ranges and steps', () => {
    expect(next('30 2 * * sun', '2026-12-02T15:00:00Z')).toBe('2026-12-06T02:30:00.000Z');
    expect(next('0 0 1 jan *', '2026-12-02T15:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('5,35 9-10 * * *', '2026-12-02T09:40:00Z')).toBe('2026-12-02T10:05:00.000Z');
    expect(next('10-50/20 * * * *', '2026-12-02T09:31:00Z')).toBe('2026-12-02T09:50:00.000Z');
    // 7 is Sunday too.
    expect(next('0 0 * * 7', '2026-12-02T00:00:00Z')).toBe('2026-12-06T00:00:00.000Z');
  });

  it('a day of month and a weekday both restricted: either one matches', () => {
    // 2026-12-02 is a Wednesday; the 15th and every Monday qualify, Monday the 7th first.
    expect(next('0 0 15 * mon', '2026-12-02T00:00:00Z')).toBe('2026-12-07T00:00:00.000Z');
  });

  it('crosses months and leap days', () => {
    expect(next('0 0 29 2 *', '2026-12-02T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('59 23 31 * *', '2026-11-30T00:00:00Z')).toBe('2026-12-31T23:59:00.000Z');
  });

  it('refuses what is not a cron, and a day that never comes', () => {
    for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '*/0 * * * *', 'x * * * *', '5-1 * * * *'])
      expect(() => parseCron(bad), bad).toThrow(CronError);
    expect(() => nextCronTime(parseCron('0 0 31 2 *'), at('2026-01-01T00:00:00Z'))).toThrow(/never fires/);
  });
});
