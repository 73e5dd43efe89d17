import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceProcess, waitServicesReady } from '@fleetscan/demo';
import { type BenchContext, now } from './context.ts';
import { secondPassFigures } from './figures.ts';
import { cpuSnapshot, measurePass } from './pass-io.ts';
import { scrape } from './prom.ts';
import type { BenchResult } from './result.ts';
import { createSettle, everyOwnerEvaluated, workSignature } from './settled.ts';
import type { Tracker } from './tracker.ts';

const EVALUATED_TIMEOUT_MS = 300_000;
/** Settled: no work counter moved for this long… */
const QUIET_MS = 5000;
/** …or this long after the restart, whatever moves. */
const SETTLE_MAX_MS = 120_000;

/**
 * The second pass: watcher and writer restarted over a fleet already reported (the first pass's
 * scanners stay). Their goal is to do nothing: no trivy run, no write.
 */
export async function runSecondPass(
  ctx: BenchContext,
  o: { first: readonly ServiceProcess[]; tracker: Tracker },
): Promise<NonNullable<BenchResult['secondPass']>> {
  const { io, fleet } = ctx;
  io.say('second pass: restarting watcher and writer with everything reported');
  const scanners = o.first.filter((s) => s.name.startsWith('scanner'));
  const scannersBefore = (await Promise.all(scanners.map((s) => scrape(s.metricsUrl)))).flat();
  const eventsBefore = o.tracker.reportEvents();
  for (const s of o.first.filter((x) => !x.name.startsWith('scanner'))) await s.process.stop();
  const cpuBefore = cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids);
  const t1 = now();
  const second = await ctx.startServices({ scanners: 0, generation: 2 });
  await waitServicesReady(second);
  const readyMs = now() - t1;
  const watcher = second.find((s) => s.name === 'watcher') as ServiceProcess;
  const writer = second.find((s) => s.name === 'writer') as ServiceProcess;
  await waitUntil(
    async () => everyOwnerEvaluated(await scrape(watcher.metricsUrl), fleet.length),
    EVALUATED_TIMEOUT_MS,
  );
  const evaluatedMs = now() - t1;
  const settle = createSettle({ start: now(), quietMs: QUIET_MS, maxMs: SETTLE_MAX_MS });
  while (!settle.done(now())) {
    const all = (await Promise.all([...scanners, watcher, writer].map((s) => scrape(s.metricsUrl)))).flat();
    settle.observe(workSignature(all), now());
    await sleep(1000);
  }
  const settledMs = now() - t1;
  const pass = await measurePass({
    monitor: ctx.monitor,
    started: ctx.started,
    stackPids: ctx.stackPids,
    svcs: second,
    before: cpuBefore,
    reports: 0,
    extraScanners: scanners,
    scannersBefore,
  });
  const figures = secondPassFigures({
    pass,
    readyMs,
    evaluatedMs,
    settledMs,
    eventsBefore,
    eventsAfter: o.tracker.reportEvents(),
  });
  io.say(
    `second pass: ready in ${(readyMs / 1000).toFixed(1)} s, ${pass.writes} writes, ${pass.trivyImageRuns + pass.trivyConfigRuns} trivy runs`,
  );
  return figures;
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}
