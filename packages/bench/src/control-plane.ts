import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { type BenchContext, now } from './context.ts';
import { createFleet } from './create.ts';
import { controlPlaneFigures } from './figures.ts';
import { cpuSnapshot } from './pass-io.ts';
import { progressLoop } from './progress.ts';
import type { BenchResult } from './result.ts';
import type { Tracker } from './tracker.ts';

/** The fleet created with no fleetscan service: what the control plane alone needs for it. */
export async function timeControlPlane(
  ctx: BenchContext,
  t: Tracker,
): Promise<NonNullable<BenchResult['controlPlane']>> {
  const { io, kc, fleet, opts } = ctx;
  const before = cpuSnapshot(ctx.monitor, [], ctx.stackPids);
  const api0 = await apiserverRequests(kc);
  io.say(`control plane only: creating ${fleet.length} workloads, no fleetscan service running`);
  const stopProgress = progressLoop((l) => io.progress(l), t, [], opts.owners, now);
  let createdAt = 0;
  try {
    await Promise.all([
      createFleet(kc, fleet, ctx.run, { concurrency: 8, onCreated: (w, at) => t.created(w, at) }).then(() => {
        createdAt = now();
      }),
      t.allOwnersSeen(opts.timeoutSec * 1000),
    ]);
  } finally {
    stopProgress();
  }
  const after = cpuSnapshot(ctx.monitor, [], ctx.stackPids);
  const apiRequests = requestDelta(api0, await apiserverRequests(kc));
  return controlPlaneFigures({
    before,
    after,
    stack: ctx.stackPids,
    apiRequests,
    t0: t.firstCreatedAt() ?? 0,
    createdAt,
    lastOwnerSeenAt: t.lastOwnerSeenAt(),
    now: now(),
    ownerMs: t.latencies().ownerMs,
  });
}
