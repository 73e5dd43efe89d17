import { describe, expect, it } from 'vitest';
import { formatSoak, thin } from './table.ts';

describe('thin', () => {
  it('keeps the first and the last and spreads the rest', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([0, 5, 10]);
    expect(thin([1, 2, 3], 1)).toEqual([3]);
  });
});

describe('formatSoak', () => {
  it('prints a markdown table with RSS in MiB and the verdict', () => {
    const text = formatSoak(
      [
        {
          t: 0,
          rss: { watcher: 100 * 1024 * 1024, writer: undefined },
          pending: { scan: 3, results: 1 },
          dead: 0,
          live: 100,
          changes: 0,
          load1: 4.2,
        },
      ],
      { ok: false, criteria: [{ name: 'drained', ok: false, detail: '2 messages pending after the drain' }] },
    );
    expect(text.split('\n').slice(0, 3)).toEqual([
      '|    t | live | changes | watcher MiB | writer MiB | scan q | result q | dead | load |',
      '|-----:|-----:|--------:|------------:|-----------:|-------:|---------:|-----:|-----:|',
      '| 0:00 |  100 |       0 |       100.0 |          - |      3 |        1 |    0 |  4.2 |',
    ]);
    expect(text).toContain('verdict: FAIL\n  FAIL drained: 2 messages pending after the drain');
  });
});
