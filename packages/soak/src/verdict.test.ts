import { describe, expect, it } from 'vitest';
import { checkFleet } from './fleet-check.ts';
import { quarters, type SoakSample, soakVerdict } from './verdict.ts';

const MiB = 1024 * 1024;
const clean = checkFleet([], []);
const end = { check: clean, pending: 0, deadBefore: 3, deadAfter: 3 };

const samples = (
  rss: (i: number) => number,
  pending: (i: number) => number = () => 5,
  n = 20,
): SoakSample[] =>
  Array.from({ length: n }, (_, i) => ({
    t: i * 30,
    rss: { watcher: rss(i), writer: 100 * MiB },
    pending: { scan: pending(i), results: 0 },
    dead: 3,
    live: 100,
    changes: i * 60,
    load1: 2,
  }));

describe('quarters', () => {
  it('takes the first and last quarter, or nothing with fewer than 4 samples', () => {
    expect(quarters([1, 2, 3])).toBeUndefined();
    expect(quarters([1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual({ first: [1, 2], last: [8, 9] });
  });
});

describe('the soak verdict', () => {
  it('passes flat memory, flat pending, no dead letters, a drained queue and every report current', () => {
    const v = soakVerdict(
      samples((i) => (120 + (i % 3)) * MiB),
      end,
    );
    expect(v.ok).toBe(true);
    expect(v.criteria.map((c) => c.name)).toEqual([
      'RSS watcher flat',
      'RSS writer flat',
      'pending flat',
      'no dead letters',
      'drained',
      'every report current',
    ]);
    expect(v.criteria[0]?.detail).toMatch(
      /^first quarter 120\.8 MiB, last 120\.8 MiB \(\+0\.0 %; limit 148\.9 MiB\)$/,
    );
  });

  it('fails memory that keeps growing, naming the service', () => {
    const v = soakVerdict(
      samples((i) => (100 + i * 4) * MiB),
      end,
    );
    expect(v.ok).toBe(false);
    expect(v.criteria.filter((c) => !c.ok).map((c) => c.name)).toEqual(['RSS watcher flat']);
  });

  it('allows a little growth: tolerance and slack', () => {
    // 100 → 115 MiB: +15 %, inside 10 % + 16 MiB.
    expect(
      soakVerdict(
        samples((i) => (i < 10 ? 100 : 115) * MiB),
        end,
      ).ok,
    ).toBe(true);
  });

  it('fails a queue that grows', () => {
    const v = soakVerdict(
      samples(
        () => 100 * MiB,
        (i) => i * 10,
      ),
      end,
    );
    expect(v.criteria.find((c) => c.name === 'pending flat')?.ok).toBe(false);
  });

  it('fails dead letters, a queue left at the end and reports that are not current', () => {
    const owners = [
      { kind: 'ReplicaSet', namespace: 'n', name: 'a', uid: 'u', specHash: 'h', containers: [] },
    ];
    const v = soakVerdict(
      samples(() => 100 * MiB),
      {
        check: checkFleet(owners, []),
        pending: 2,
        deadBefore: 3,
        deadAfter: 5,
      },
    );
    expect(v.criteria.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
      ['no dead letters', '2 terminated during the soak'],
      ['drained', '2 messages pending after the drain'],
      ['every report current', '1 owners, 0/1 reports current, 1 missing, 0 stale, 0 duplicates, 0 orphans'],
    ]);
  });

  it('fails a run too short to compare quarters, and a service that stopped being sampled', () => {
    expect(
      soakVerdict(
        samples(() => MiB, undefined, 3),
        end,
      ).criteria[0],
    ).toMatchObject({
      name: 'samples',
      ok: false,
    });
    const gone = samples(() => 100 * MiB).map((s, i) =>
      i > 10 ? { ...s, rss: { ...s.rss, watcher: undefined } } : s,
    );
    expect(soakVerdict(gone, end).criteria[0]).toMatchObject({ name: 'RSS watcher', ok: false });
  });
});
