import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from '@fleetscan/demo';
import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { type BenchContext, now } from './context.ts';
import { waitDrained } from './drain.ts';
import { CLUSTER } from './first-pass.ts';
import { nextDbVersion, refreshProgress, workBetween } from './load-figures.ts';
import { cpuSnapshot, measurePass } from './pass-io.ts';
import { scrape } from './prom.ts';
import type { BenchResult } from './result.ts';
import type { Tracker } from './tracker.ts';

const DRAIN_TIMEOUT_MS = 300_000;
const POLL_MS = 1000;

/**
 * A new trivy DB version: the scanners' metadata.json gets a later UpdatedAt (the content stays the
 * same, which changes nothing for the pipeline: a new version means every VulnerabilityReport is
 * re-matched). The phase lasts until every VulnerabilityReport the benchmark sees carries the new
 * version; `during` (the probes) runs alongside.
 */
export async function runDbUpdate(
  ctx: BenchContext,
  o: {
    services: readonly ServiceProcess[];
    tracker: Tracker;
    timeoutMs: number;
    during?: { start(): void; stop(): Promise<void> };
  },
): Promise<NonNullable<BenchResult['dbUpdate']>> {
  const { io, stack, kc } = ctx;
  const t = o.tracker;
  const old = new Set(t.vulnReportsByDb().keys());
  const reports = refreshProgress(t.vulnReportsByDb(), old).left;
  const samples0 = (await Promise.all(o.services.map((s) => scrape(s.metricsUrl)))).flat();
  const probeReports0 = t.probeReports();
  const cpu0 = cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids);
  const api0 = await apiserverRequests(kc);
  const version = await bumpDbVersion(stack.trivy.cacheDir);
  io.say(`new trivy DB version ${version}: waiting until ${reports} VulnerabilityReports carry it`);
  const t0 = now();
  o.during?.start();
  let last = refreshProgress(t.vulnReportsByDb(), old);
  let lastMoved = t0;
  const deadline = t0 + o.timeoutMs;
  try {
    while (!(last.left === 0 && last.refreshed > 0) && now() < deadline) {
      await sleep(POLL_MS);
      const p = refreshProgress(t.vulnReportsByDb(), old);
      if (p.left !== last.left || p.refreshed !== last.refreshed) lastMoved = now();
      last = p;
      io.progress(
        `${((now() - t0) / 1000).toFixed(0).padStart(4)} s · refreshed ${p.refreshed} · left ${p.left}`,
      );
    }
  } finally {
    await o.during?.stop();
  }
  const complete = last.left === 0 && last.refreshed > 0;
  if (!complete)
    io.say(`${last.left} VulnerabilityReports still carry the old DB version; measuring what was done`);
  else io.say(`every VulnerabilityReport refreshed in ${((lastMoved - t0) / 1000).toFixed(1)} s`);
  const drained = complete ? await waitDrained(stack, [CLUSTER], DRAIN_TIMEOUT_MS) : false;
  const samples1 = (await Promise.all(o.services.map((s) => scrape(s.metricsUrl)))).flat();
  const pass = await measurePass({
    monitor: ctx.monitor,
    started: ctx.started,
    stackPids: ctx.stackPids,
    svcs: o.services,
    before: cpu0,
    reports: reports - last.left,
  });
  const probeReports = t.probeReports() - probeReports0;
  return {
    version,
    reports,
    refreshed: reports - last.left,
    probeReports,
    complete,
    refreshMs: lastMoved - t0,
    drained,
    work: workBetween(samples0, samples1),
    cpu: pass.cpu,
    apiRequests: requestDelta(api0, await apiserverRequests(kc)),
  };
}

/** Gives trivy's DB metadata a later UpdatedAt, written atomically; returns it. */
export async function bumpDbVersion(cacheDir: string): Promise<string> {
  const file = join(cacheDir, 'db', 'metadata.json');
  const meta = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const version = nextDbVersion(typeof meta.UpdatedAt === 'string' ? meta.UpdatedAt : undefined, Date.now());
  meta.UpdatedAt = version;
  await writeFile(`${file}.new`, JSON.stringify(meta));
  await rename(`${file}.new`, file);
  return version;
}
