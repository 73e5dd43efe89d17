import { describe, expect, it } from 'vitest';
import { simulateOperator } from './operator-model.ts';

describe("trivy-operator's scan-job limit (model)", () => {
  it('scans a new workload at once when a slot is free', () => {
    expect(simulateOperator({ backlog: 0, jobMs: 10_000, arrivalsMs: [0, 100_000] }).waitsMs).toEqual([
      10_000, 10_000,
    ]);
  });

  it('pushes a workload back 30 s at a time while the 10 slots are taken', () => {
    // 10 jobs of 60 s from t=0: the new workload, at 1 s, is pushed back at 1 and 31 s and starts at 61 s.
    expect(simulateOperator({ backlog: 10, jobMs: 60_000, arrivalsMs: [1000] }).waitsMs).toEqual([120_000]);
  });

  it('drains a backlog 10 jobs per 30 s when jobs are shorter than the retry, and lets a new workload take a slot between', () => {
    const r = simulateOperator(
      { backlog: 25, jobMs: 10_000, arrivalsMs: [5000, 15_000] },
      { untilBacklogDone: true },
    );
    // 10 jobs at 0 s, 10 at 30 s, 5 at 60 s (the last ends at 70 s).
    expect(r.backlogDoneMs).toBe(70_000);
    // At 5 s the slots are taken: pushed back to 35 s (taken again since 30 s), then 65 s: ends 75 s.
    // At 15 s the first ten have ended: a slot is free at once.
    expect(r.waitsMs).toEqual([70_000, 10_000]);
  });

  it('keeps the queue in ready order: a workload pushed back competes with the backlog at its own time', () => {
    const r = simulateOperator({ backlog: 30, jobMs: 45_000, arrivalsMs: [0] });
    // At 0 s the new workload is behind 30 backlog items; 10 start, it is pushed back with 20 others
    // to 30 s (still taken), then 60 s: slots freed at 45 s go in queue order, the backlog first.
    expect(r.waitsMs[0]).toBeGreaterThan(90_000);
  });

  it('stops at the horizon and says a workload never got a slot', () => {
    const r = simulateOperator({ backlog: 10, jobMs: 1e9, arrivalsMs: [0] }, { horizonMs: 3_600_000 });
    expect(r.waitsMs).toEqual([Number.POSITIVE_INFINITY]);
  });

  it('reconciles the backlog as it would one by one: a 10 000-owner cold start, ten jobs per 30 s', () => {
    const r = simulateOperator(
      { backlog: 10_000, jobMs: 10_000, arrivalsMs: [] },
      { untilBacklogDone: true },
    );
    expect(r.backlogDoneMs).toBe(999 * 30_000 + 10_000);
    // 95: nine full rounds and five in the tenth.
    const small = simulateOperator(
      { backlog: 95, jobMs: 10_000, arrivalsMs: [] },
      { untilBacklogDone: true },
    );
    expect(small.backlogDoneMs).toBe(9 * 30_000 + 10_000);
  });
});
