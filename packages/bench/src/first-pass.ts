import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from '@fleetscan/demo';
import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { type BenchContext, now } from './context.ts';
import { createFleet } from './create.ts';
import { waitDrained } from './drain.ts';
import { drainMs, firstPassFigures, timeToAllReportsMs } from './figures.ts';
import { profileGoServers } from './go-prof.ts';
import { natsTraffic, trafficDelta } from './nats-stats.ts';
import type { CpuSnapshot } from './pass-figures.ts';
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
 * The first pass: creates the fleet with the services running (or, with `existing`, finds it there:
 * fleetscan's cold start), waits for every report, lets the pipeline drain, and reads the figures.
 * A run that gives up waiting still measures what was done.
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
     * The fleet exists already: nothing is created, and times count from `startedAt` (the services'
     * start; CPU counts from `cpu0`, read then).
     */
    existing?: { startedAt: number; readyAt: number; cpu0: CpuSnapshot };
    /** Runs alongside until every report is in (the probes). */
    during?: { start(): void; stop(): Promise<void> };
  },
): Promise<{ figures: NonNullable<BenchResult['firstPass']>; timedOut: boolean; error?: string }> {
  const { io, stack, kc, fleet, opts } = ctx;
  const t = o.tracker;
  const cpu0 = o.existing?.cpu0 ?? cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids);
  const nats0 = await natsTraffic(stack.natsMonitorUrl);
  const api0 = await apiserverRequests(kc);

  io.say(
    o.existing
      ? `fleetscan's cold start on ${fleet.length} existing owners`
      : `creating ${fleet.length} workloads`,
  );
  const goProf = o.profDir
    ? profileGoServers(
        [apiserverTarget(kc), ...(stack.natsProfUrl ? [plainTarget('nats-server', stack.natsProfUrl)] : [])],
        o.profDir,
      )
    : undefined;
  const stopProgress = progressLoop((l) => io.progress(l), t, o.services, opts.owners, now);
  let createdAt = o.existing?.startedAt ?? 0;
  const creating = o.existing
    ? Promise.resolve()
    : createFleet(kc, fleet, ctx.run, {
        concurrency: 8,
        onCreated: (w, at) => t.created(w, at),
      }).then(() => {
        createdAt = now();
      });
  o.during?.start();
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
    await o.during?.stop();
  }
  const t0 = o.existing?.startedAt ?? t.firstCreatedAt() ?? 0;
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
    probeReports: t.probeReports(),
  });
  const nats = trafficDelta(nats0, await natsTraffic(stack.natsMonitorUrl));
  const apiRequests = requestDelta(api0, await apiserverRequests(kc));
  // An existing fleet's owners were all there at the start: each one's latency runs from it.
  const latencies = o.existing ? { ownerMs: [], reportsMs: t.doneTimes().map((d) => d - t0) } : t.latencies();
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
    lastOwnerSeenAt: o.existing ? t0 : t.lastOwnerSeenAt(),
    latencies,
    doneTimes: t.doneTimes(),
    floorMs: o.floorMs,
    uniqueDigests: o.uniqueDigests,
    owners: fleet.length,
    nproc: o.nproc,
    samples,
  });
  const withExisting = o.existing ? { ...figures, existing: { readyMs: o.existing.readyAt - t0 } } : figures;
  return { figures: withExisting, timedOut, ...(error !== undefined && { error }) };
}
