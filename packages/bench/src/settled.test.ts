import { describe, expect, it } from 'vitest';
import { parsePrometheus } from './prom.ts';
import { createSettle, everyOwnerEvaluated, workSignature } from './settled.ts';

describe('when the second pass is done', () => {
  it('is settled only after the work signature stayed the same for the quiet time', () => {
    const s = createSettle({ start: 0, quietMs: 5000, maxMs: 120_000 });
    expect(s.done(0)).toBe(false);
    s.observe('a', 0);
    s.observe('a', 4000);
    expect(s.done(4999)).toBe(false);
    s.observe('b', 4999); // something moved: wait again
    expect(s.done(9000)).toBe(false);
    s.observe('b', 9998);
    expect(s.done(9999)).toBe(true);
  });

  it('gives up at the deadline however much moves', () => {
    const s = createSettle({ start: 1000, quietMs: 5000, maxMs: 10_000 });
    for (let at = 1000; at < 11_000; at += 1000) {
      s.observe(String(at), at);
      expect(s.done(at)).toBe(false);
    }
    expect(s.done(11_000)).toBe(true);
  });

  it('counts requests, scans, results and writes as work, not evaluations', () => {
    const before = parsePrometheus(`
fleetscan_watcher_requests_total{type="image",outcome="published"} 3
fleetscan_watcher_evaluations_total 10
`);
    const evaluatedMore = parsePrometheus(`
fleetscan_watcher_requests_total{type="image",outcome="published"} 3
fleetscan_watcher_evaluations_total 20
`);
    const wroteOne = parsePrometheus(`
fleetscan_watcher_requests_total{type="image",outcome="published"} 3
fleetscan_writer_reports_total{outcome="written"} 1
`);
    expect(workSignature(evaluatedMore)).toBe(workSignature(before));
    expect(workSignature(wroteOne)).not.toBe(workSignature(before));
  });

  it('waits for the restarted watcher to evaluate every owner', () => {
    const w = parsePrometheus('fleetscan_watcher_evaluations_total 39\n');
    expect(everyOwnerEvaluated(w, 40)).toBe(false);
    expect(everyOwnerEvaluated(w, 39)).toBe(true);
    expect(everyOwnerEvaluated([], 1)).toBe(false);
  });
});
