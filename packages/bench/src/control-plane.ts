import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { type BenchContext, now } from './context.ts';
import { waitControlPlaneSettled } from './control-plane-settle.ts';
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
  const lastOwnerSeenAt = t.lastOwnerSeenAt();
  const endedAt = now();
  // Before a cold start: the fleet must be an existing one, its controllers done with it.
  const settle = opts.existing
    ? await waitControlPlaneSettled({
        read: () => apiserverRequests(kc),
        now,
        quietMs: SETTLE_QUIET_MS,
        maxMs: Math.min(SETTLE_MAX_MS, opts.timeoutSec * 1000),
      })
    : undefined;
  if (settle)
    io.say(
      `control plane ${settle.settled ? 'settled' : 'still writing; going on'} after ${(settle.waitedMs / 1000).toFixed(1)} s more (no controller write for ${SETTLE_QUIET_MS / 1000} s)`,
    );
  const figures = controlPlaneFigures({
    before,
    after,
    stack: ctx.stackPids,
    apiRequests,
    t0: t.firstCreatedAt() ?? 0,
    createdAt,
    lastOwnerSeenAt,
    now: endedAt,
    ownerMs: t.latencies().ownerMs,
  });
  return settle ? { ...figures, settle } : figures;
}

/** No controller write for this long: the control plane is done with the fleet. */
const SETTLE_QUIET_MS = 10_000;
/** The most a run waits for it (kube-controller-manager at 10 000 owners: minutes). */
const SETTLE_MAX_MS = 900_000;
