import { subjects } from '@fleetscan/bus';
import type { StreamInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { createQueueView } from './queue-view.ts';

const timers = { after: () => () => {}, every: () => () => {} };

describe('createQueueView', () => {
  it("tells per lane whether the cluster's requests are still in the scan stream, and forgets a stale reading", async () => {
    let t = 0;
    let counts: Record<string, Record<string, number>> = {
      [subjects.scansFrom('a', 'bulk')]: { [subjects.scanConfig('a', 'bulk')]: 3 },
      [subjects.scansFrom('a', 'urgent')]: {},
    };
    let fail = false;
    const asked: string[] = [];
    const warnings: string[] = [];
    const view = createQueueView({
      cluster: 'a',
      timers,
      now: () => t,
      intervalMs: 1000,
      logger: { warn: (_o: unknown, msg: string) => warnings.push(msg) } as never,
      streams: {
        info: async (_name: string, opts?: { subjects_filter?: string }) => {
          if (fail) throw new Error('timeout');
          asked.push(opts?.subjects_filter ?? '');
          return { state: { subjects: counts[opts?.subjects_filter ?? ''] } } as unknown as StreamInfo;
        },
      },
    });
    await view.refresh();
    expect(asked).toContain('fleetscan.scan.bulk.*.a');
    expect(asked).toContain('fleetscan.scan.*.a');
    expect(view.queued('bulk')).toBe(true);
    expect(view.queued('urgent')).toBe(false);
    counts = { [subjects.scansFrom('a', 'bulk')]: { [subjects.scanConfig('a', 'bulk')]: 0 } };
    await view.refresh();
    expect(view.queued('bulk')).toBe(false);
    counts = { [subjects.scansFrom('a', 'bulk')]: { x: 1 } };
    await view.refresh();
    fail = true;
    await view.refresh();
    await view.refresh();
    expect(warnings).toHaveLength(1);
    expect(view.queued('bulk')).toBe(true);
    t = 3000;
    expect(view.queued('bulk')).toBe(false);
    view.stop();
  });
});
