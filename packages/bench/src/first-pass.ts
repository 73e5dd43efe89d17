import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from '@fleetscan/demo';
import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { type BenchContext, now } from './context.ts';
import { createFleet } from './create.ts';
import { waitDrained } from './drain.ts';
import { drainMs, firstPassFigures, timeToAllReportsMs } from './figures.ts';
import { profileGoServers } from './go-prof.ts';
import { natsTraffic, trafficDelta } from './nats-stats.ts';
import { cpuSnapshot, measurePass } from './pass-io.ts';
import { progressLoop } from './progress.ts';
import { scrape } from './prom.ts';
import type { BenchResult } from './result.ts';
import { apiserverTarget, plainTarget } from './server-get.ts';
import type { Tracker } from './tracker.ts';

export const CLUSTER = 'bench';
/** The writer counts a write once the API answers; the benchmark's watch may see the report first. */
const WRITES_SETTLE_MS = 1500;
const DRAIN_TIMEOUT_MS = 300_000;

/**
 * The first pass: creates the fleet with the services running, waits for every report, lets the
 * pipeline drain, and reads the figures. A run that gives up waiting still measures what was done.
 */
export async function runFirstPass(
  ctx: BenchContext,
  o: {
    services: readonly ServiceProcess[];
    tracker: Tracker;
    /** The Go CPU profiles go here (`--cpu-prof`). */
    profDir: string | undefined;
    floorMs: number;
    uniqueDigests: number;
    /** The machine's cores. */
    nproc: number;
    /**
     * `--existing`: the fleet was created before fleetscan started at `since`; the pass is timed
     * from then, and its CPU counted from `cpuBefore` (the services' start-up included).
     */
    existing?: { since: number; cpuBefore: ReturnType<typeof cpuSnapshot> };
  },
): Promise<{ figures: NonNullable<BenchResult['firstPass']>; timedOut: boolean; error?: string }> {
  const { io, stack, kc, fleet, opts } = ctx;
  const t = o.tracker;
  const cpu0 = o.existing?.cpuBefore ?? cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids);
  const nats0 = await natsTraffic(stack.natsMonitorUrl);
  const api0 = await apiserverRequests(kc);

  if (!o.existing) io.say(`creating ${fleet.length} workloads`);
  const goProf = o.profDir
    ? profileGoServers(
        [apiserverTarget(kc), ...(stack.natsProfUrl ? [plainTarget('nats-server', stack.natsProfUrl)] : [])],
        o.profDir,
      )
    : undefined;
  const stopProgress = progressLoop((l) => io.progress(l), t, o.services, opts.owners, now);
  let createdAt = o.existing?.since ?? 0;
  const creating = o.existing
    ? Promise.resolve()
    : createFleet(kc, fleet, ctx.run, {
        concurrency: 8,
        onCreated: (w, at) => t.created(w, at),
      }).then(() => {
        createdAt = now();
      });
  let timedOut = false;
  let error: string | undefined;
  try {
    await Promise.all([creating, t.allDone(opts.timeoutSec * 1000)]);
  } catch (err) {
    // Still measure what was done: the figures say how far it got and where it stood.
    timedOut = true;
    error = err instanceof Error ? err.message : String(err);
    io.say(`${error}; measuring what was done`);
  } finally {
    stopProgress();
  }
  const t0 = o.existing?.since ?? t.firstCreatedAt() ?? 0;
  const timeToAll = timeToAllReportsMs({ t0, now: now(), lastReportAt: t.lastReportAt(), timedOut });
  // Work still queued after the last report is waste: count it in this pass, and start the
  // second pass from a quiet pipeline.
  if (!timedOut) io.say('all reports seen; waiting for the pipeline to drain');
  await sleep(WRITES_SETTLE_MS);
  const drained = timedOut ? false : await waitDrained(stack, [CLUSTER], DRAIN_TIMEOUT_MS);
  if (goProf) {
    const files = await goProf.stop();
    for (const name of ['kube-apiserver', 'nats-server']) {
      const mine = files.filter((f) => f.includes(`/${name}.`));
      if (mine.length > 0) io.say(`${name} CPU profiles: go tool pprof -top ${mine.join(' ')}`);
    }
  }
  const drain = drainMs(t.lastReportAt(), now());
  const pass = await measurePass({
    monitor: ctx.monitor,
    started: ctx.started,
    stackPids: ctx.stackPids,
    svcs: o.services,
    before: cpu0,
    reports: t.counts().reports,
  });
  const nats = trafficDelta(nats0, await natsTraffic(stack.natsMonitorUrl));
  const apiRequests = requestDelta(api0, await apiserverRequests(kc));
  const latencies = t.latencies();
  const samples = (await Promise.all(o.services.map((s) => scrape(s.metricsUrl)))).flat();
  const figures = firstPassFigures({
    pass,
    t0,
    timeToAllReportsMs: timeToAll,
    createdAt,
    drained,
    drainMs: drain,
    nats,
    apiRequests,
    lastOwnerSeenAt: t.lastOwnerSeenAt(),
    latencies,
    doneTimes: t.doneTimes(),
    floorMs: o.floorMs,
    uniqueDigests: o.uniqueDigests,
    owners: fleet.length,
    nproc: o.nproc,
    samples,
  });
  return { figures, timedOut, ...(error !== undefined && { error }) };
}
