import type { ImageScanResult, Outcome } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { VULNERABILITY_REPORT } from '@fleetscan/reports';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createFanoutMemory } from './fanout-memory.ts';
import { createLateOwners, imagesWithoutReport, LATE_OWNER_DELAY_MS } from './late-owners.ts';
import { createWriterMetrics } from './metrics.ts';
import { createFakeTime } from './testing/fake-time.ts';
import { fakeCluster, IMAGE, owner, recordingLogger, result } from './testing/fixtures.ts';

function setup(o: { write?: (r: ImageScanResult, owner: Owner) => Promise<Outcome> } = {}) {
  const time = createFakeTime();
  const cluster = fakeCluster();
  const memory = createFanoutMemory({ clock: time });
  const logger = recordingLogger();
  const metrics = createWriterMetrics(new Registry());
  const written: string[] = [];
  const late = createLateOwners({
    inventory: cluster.inventory,
    memory,
    writeFrom:
      o.write ??
      (async (r, w) => {
        written.push(`${w.namespace}/${w.name} <- ${r.namespace}/${r.image}`);
        return { kind: 'ack' };
      }),
    metrics,
    logger,
    timers: time,
  });
  return { time, cluster, memory, logger, written, late, metrics };
}

describe('late owners', () => {
  it('writes an owner still without its report LATE_OWNER_DELAY_MS after it appeared, from its namespace’s last fan-out', async () => {
    const { time, cluster, memory, late, written, metrics } = setup();
    memory.remember(result);
    const o = owner('b');
    cluster.owners.push(o);
    late.appeared(o);
    await time.advance(LATE_OWNER_DELAY_MS - 1);
    expect(written).toEqual([]);
    await time.advance(1);
    expect(written).toEqual([`team-a/b <- team-a/${IMAGE}`]);
    const counted = (await metrics.results.get()).values.find((v) => v.labels.outcome === 'late_owner');
    expect(counted?.value).toBe(1);
    expect(late.pending()).toBe(0);
  });

  it('writes at once from a fan-out asked for after the owner was created (the writer saw the owner after that answer), else waits', async () => {
    const { time, cluster, memory, late, written } = setup();
    const created = Date.parse('2026-11-26T10:00:00Z');
    const withCreation = (name: string) => {
      const o = owner(name);
      return { ...o, workload: { createdAtMs: created } } as unknown as typeof o;
    };
    // Asked a moment after b was created: b's answer; the writer fanned it out before it saw b.
    memory.remember({ ...result, requestedAt: '2026-11-26T10:00:00.300Z' });
    const b = withCreation('b');
    cluster.owners.push(b);
    late.appeared(b);
    await time.advance(0);
    expect(written).toEqual([`team-a/b <- team-a/${IMAGE}`]);

    // Asked before c existed (or with no time): c's own answer may still come, so it waits as before.
    const { time: t2, cluster: c2, memory: m2, late: l2, written: w2 } = setup();
    m2.remember({ ...result, requestedAt: '2026-11-26T09:59:59Z' });
    const c = withCreation('c');
    c2.owners.push(c);
    l2.appeared(c);
    await t2.advance(0);
    expect(w2).toEqual([]);
    await t2.advance(LATE_OWNER_DELAY_MS);
    expect(w2).toEqual([`team-a/c <- team-a/${IMAGE}`]);
  });

  it('writes at once from the fan-out asked for after the owner was created, even when an older ask was answered after it', async () => {
    // Seen during a DB update: the new owner's urgent answer was fanned out first, then the bulk
    // refresh of the same image in that namespace (asked before the owner existed); the owner then
    // waited LATE_OWNER_DELAY_MS although its own answer had come.
    const from: string[] = [];
    const { time, cluster, memory, late } = setup({
      write: async (r) => {
        from.push(r.scanConfigHash);
        return { kind: 'ack' };
      },
    });
    const o = owner('b');
    const b = { ...o, workload: { createdAtMs: Date.parse('2026-11-26T10:00:00Z') } } as unknown as typeof o;
    memory.remember({ ...result, requestedAt: '2026-11-26T10:00:00.300Z', scanConfigHash: 'urgent' });
    memory.remember({ ...result, requestedAt: '2026-11-26T09:59:30Z', scanConfigHash: 'bulk' });
    cluster.owners.push(b);
    late.appeared(b);
    await time.advance(0);
    expect(from).toEqual(['urgent']);
  });

  it('leaves an owner alone that got its own report meanwhile, or went away', async () => {
    const { time, cluster, memory, late, written } = setup();
    memory.remember(result);
    const served = owner('b');
    const gone = owner('c');
    cluster.owners.push(served, gone);
    late.appeared(served);
    late.appeared(gone);
    cluster.seeReport({
      kind: VULNERABILITY_REPORT.kind,
      namespace: 'team-a',
      name: 'replicaset-b-app',
      ownerUid: served.uid,
    });
    cluster.owners.splice(cluster.owners.indexOf(gone), 1);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(written).toEqual([]);
  });

  it('never writes an owner from another namespace’s fan-out, nor without a remembered one', async () => {
    const { time, cluster, memory, late, written } = setup();
    memory.remember(result);
    const elsewhere = owner('c', 'team-b');
    const otherImage = owner('d', 'team-a', ['r/other:1']);
    cluster.owners.push(elsewhere, otherImage);
    late.appeared(elsewhere);
    late.appeared(otherImage);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(written).toEqual([]);
  });

  it('checks an owner seen again a full delay after the last time, once', async () => {
    const { time, cluster, memory, late, written } = setup();
    memory.remember(result);
    const o = owner('b');
    cluster.owners.push(o);
    late.appeared(o);
    await time.advance(LATE_OWNER_DELAY_MS / 2);
    late.appeared(o);
    expect(late.pending()).toBe(1);
    await time.advance(LATE_OWNER_DELAY_MS / 2);
    expect(written).toEqual([]);
    await time.advance(LATE_OWNER_DELAY_MS / 2);
    expect(written).toHaveLength(1);
  });

  it('a write that fails is logged once per image, and nothing is thrown', async () => {
    const { time, cluster, memory, late, logger } = setup({
      write: async () => {
        throw new Error('API server unavailable');
      },
    });
    memory.remember(result);
    const o = owner('b');
    cluster.owners.push(o);
    late.appeared(o);
    await time.advance(LATE_OWNER_DELAY_MS);
    expect(logger.lines.filter((l) => l.msg === 'late owner not written')).toHaveLength(1);
  });

  it('stop cancels the checks not yet due and waits for running ones', async () => {
    let release: (() => void) | undefined;
    let ended = false;
    const { time, cluster, memory, late } = setup({
      write: () =>
        new Promise<Outcome>((resolve) => {
          release = () => {
            ended = true;
            resolve({ kind: 'ack' });
          };
        }),
    });
    memory.remember(result);
    const running = owner('b');
    const waiting = owner('c');
    cluster.owners.push(running, waiting);
    late.appeared(running);
    await time.advance(LATE_OWNER_DELAY_MS / 2);
    late.appeared(waiting);
    await time.advance(LATE_OWNER_DELAY_MS / 2);
    expect(release).toBeDefined();
    const stopped = late.stop();
    expect(late.pending()).toBe(0);
    expect(time.timers).toBe(0);
    release?.();
    await stopped;
    expect(ended).toBe(true);
    late.appeared(owner('d'));
    expect(time.timers).toBe(0);
  });
});

describe('imagesWithoutReport', () => {
  it('lists each image once whose container has no report of this owner', () => {
    const c = fakeCluster();
    const o = owner('a', 'team-a', [IMAGE, IMAGE, 'r/side:1']);
    // app (IMAGE) has its report; app1 (IMAGE) is another owner's; app2 (r/side:1) has none.
    c.seeReport({
      kind: VULNERABILITY_REPORT.kind,
      namespace: 'team-a',
      name: 'replicaset-a-app',
      ownerUid: o.uid,
    });
    c.seeReport({
      kind: VULNERABILITY_REPORT.kind,
      namespace: 'team-a',
      name: 'replicaset-a-app1',
      ownerUid: 'old',
    });
    expect(imagesWithoutReport(o, c.inventory)).toEqual([IMAGE, 'r/side:1']);
  });
});
