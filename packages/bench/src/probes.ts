import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, now } from './context.ts';
import { workloadCreator } from './create.ts';
import type { FleetWorkload } from './fleet.ts';
import { describeServerTimes, probeServerTimes, summarizeServerTimes } from './probe-audit.ts';
import { describeSlowest, type ProbeFigures, type ProbeSample, probeFigures } from './probe-plan.ts';
import type { Tracker } from './tracker.ts';

/** Between two probes on the idle fleet: the last one's reports are in, the next starts from quiet. */
const IDLE_GAP_MS = 1000;

/**
 * New workloads on the idle fleet: one at a time, each waited for (at most `timeoutMs`) before the
 * next, so each sees the fleet at rest.
 */
export async function runIdleProbes(
  ctx: BenchContext,
  tracker: Tracker,
  probes: readonly FleetWorkload[],
  timeoutMs: number,
  /** What sets them apart, for the lines said (`images never scanned`). */
  what?: string,
): Promise<ProbeFigures> {
  const creator = workloadCreator(ctx.kc);
  await creator.namespaces(new Set(probes.map((w) => w.namespace)));
  const label = what ? `idle fleet, ${what}` : 'idle fleet';
  ctx.io.say(`${probes.length} new Deployments on the ${label}, one at a time`);
  const start = now();
  const samples: ProbeSample[] = [];
  for (const w of probes) {
    const createdAt = now();
    tracker.addProbe(w, createdAt);
    await creator.create(w, ctx.run);
    const doneAt = await tracker.probeDone(w, timeoutMs);
    samples.push(sampleOf(tracker, w, createdAt, doneAt));
    await sleep(IDLE_GAP_MS);
  }
  const f = probeFigures(samples, start);
  ctx.io.say(`${label}: new workload p50 ${sec(f.p50Ms)}, p99 ${sec(f.p99Ms)}`);
  if (f.slowest) ctx.io.say(describeSlowest(f.slowest));
  return withServerTimes(ctx, probes, f);
}

export interface LoadProbes {
  /** Stops creating probes; resolves once every created one has its reports or timed out. */
  stop(): Promise<ProbeFigures>;
}

/**
 * New workloads under load: one created every `intervalMs` from now until stop(), at most
 * `probes.length`; each is waited for (at most `timeoutMs` from its creation) independently, so a
 * slow one does not delay the next.
 */
export function startLoadProbes(
  ctx: BenchContext,
  tracker: Tracker,
  probes: readonly FleetWorkload[],
  o: { intervalMs: number; timeoutMs: number },
): LoadProbes {
  const creator = workloadCreator(ctx.kc);
  const start = now();
  const abort = new AbortController();
  const waits: Promise<ProbeSample>[] = [];
  const creating = (async () => {
    await creator.namespaces(new Set(probes.map((w) => w.namespace)));
    for (const [i, w] of probes.entries()) {
      const due = start + i * o.intervalMs;
      if (due > now()) await sleep(due - now(), undefined, { signal: abort.signal }).catch(() => {});
      if (abort.signal.aborted) return;
      const createdAt = now();
      tracker.addProbe(w, createdAt);
      await creator.create(w, ctx.run);
      waits.push(tracker.probeDone(w, o.timeoutMs).then((doneAt) => sampleOf(tracker, w, createdAt, doneAt)));
    }
  })();
  return {
    async stop() {
      abort.abort();
      await creating;
      const f = probeFigures(await Promise.all(waits), start);
      ctx.io.say(
        `under load: ${f.created} new workloads, ${f.reported} reported, p50 ${sec(f.p50Ms)}, p99 ${sec(f.p99Ms)}`,
      );
      if (f.slowest) ctx.io.say(describeSlowest(f.slowest));
      return withServerTimes(ctx, probes, f);
    },
  };
}

/** The reports a probe waits for (the tracker's), by resource. */
const PROBE_REPORTS = ['configauditreports', 'vulnerabilityreports'];
/** A report's write is logged when it is answered, a moment after a watch may have shown it. */
const AUDIT_FLUSH_MS = 500;

/** `f` with its probes' times on kube-apiserver's clock, when the stack keeps an audit log of them. */
async function withServerTimes(
  ctx: BenchContext,
  probes: readonly FleetWorkload[],
  f: ProbeFigures,
): Promise<ProbeFigures> {
  const log = ctx.stack.clusters[0]?.auditLog;
  const namespace = probes[0]?.namespace;
  if (!log || !namespace) return f;
  await sleep(AUDIT_FLUSH_MS);
  const text = await readFile(log, 'utf8').catch(() => '');
  const server = summarizeServerTimes(
    probeServerTimes(text.split('\n'), {
      namespace,
      probes: probes.map((w) => w.name),
      reportResources: ctx.opts.configOnly ? PROBE_REPORTS.slice(0, 1) : PROBE_REPORTS,
    }),
  );
  ctx.io.say(describeServerTimes(server));
  return { ...f, server };
}

function sampleOf(
  tracker: Tracker,
  w: FleetWorkload,
  createdAt: number,
  doneAt: number | undefined,
): ProbeSample {
  return { createdAt, ownerAt: tracker.probeOwnerSeenAt(w), doneAt, reports: tracker.probeReportTimes(w) };
}

const sec = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
