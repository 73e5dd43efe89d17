import { waitServicesReady } from '@fleetscan/demo';
import type { BenchContext } from './context.ts';
import { pushVariants } from './images.ts';
import type { ThroughputPlan } from './plan.ts';
import { measureThroughput, type ThroughputResult } from './throughput.ts';

const THROUGHPUT_TIMEOUT_MS = 600_000;

/**
 * Scanner throughput: the run's scanners stopped, then for each replica count fresh images and
 * config audits published straight to a cluster nobody writes for. Each result is added to `out`
 * as soon as it is measured, so a later failure keeps it.
 */
export async function runThroughput(
  ctx: BenchContext,
  plan: ThroughputPlan,
  manifests: readonly Record<string, unknown>[],
  out: ThroughputResult[],
): Promise<void> {
  const { io, stack, opts } = ctx;
  for (const s of ctx.started.filter((x) => x.svc.name.startsWith('scanner'))) await s.svc.process.stop();
  for (const n of plan.replicas) {
    io.say(
      `scanner throughput with ${n} replica(s): ${opts.images} fresh images, ${plan.audits} config audits`,
    );
    const fresh = await pushVariants(stack.registry, opts.images, `tp${n}-`);
    const scs = await ctx.startServices({ scanners: n, only: 'scanner', generation: 10 + n });
    await waitServicesReady(scs);
    out.push(
      await measureThroughput({
        stack,
        cluster: `tp-${n}`,
        scannerMetricsUrls: scs.map((s) => s.metricsUrl),
        images: fresh.map((i) => i.ref),
        manifests: manifests.slice(0, plan.audits),
        timeoutMs: THROUGHPUT_TIMEOUT_MS,
      }),
    );
    for (const s of scs) await s.process.stop();
  }
}
