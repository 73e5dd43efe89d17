import type { ServiceProcess } from '@fleetscan/demo';
import { waitServicesReady } from '@fleetscan/demo';
import type { KubeConnection, KubeLogger } from '@fleetscan/kube';
import { CONFIG_AUDIT_REPORT, GROUP, VERSION } from '@fleetscan/reports';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { type BenchContext, now } from './context.ts';
import { runFirstPass } from './first-pass.ts';
import { cpuSnapshot } from './pass-io.ts';
import type { BenchResult } from './result.ts';
import { createTracker } from './tracker.ts';

/**
 * `--cli-audits`: the former config audit engine on the same fleet, in the same run, after the
 * audit worker's pass. Every service is stopped, the fleet's ConfigAuditReports deleted, and the
 * services started again with `AUDITOR_BIN` = the former engine behind the worker's protocol
 * (cli-auditor.ts): the same cold start over existing owners, timed and counted the same way.
 * The former engine's trivy JSON has no aliases, so its `trivy-operator` IDs are trivy's own.
 */
export async function runCliAuditPass(
  ctx: BenchContext,
  o: {
    running: readonly ServiceProcess[];
    kube: KubeConnection;
    logger: KubeLogger;
    cliAuditorBin: string;
    floorMs: number;
    uniqueDigests: number;
    nproc: number;
  },
): Promise<{ figures: NonNullable<BenchResult['cliPass']>; timedOut: boolean; error?: string }> {
  const { io, fleet } = ctx;
  io.say('former engine: stopping the services and deleting every ConfigAuditReport of the fleet');
  for (const s of o.running) await s.process.stop();
  const custom = ctx.kc.makeApiClient(CustomObjectsApi);
  for (const namespace of new Set(fleet.map((w) => w.namespace))) {
    await custom.deleteCollectionNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: CONFIG_AUDIT_REPORT.plural,
    });
  }
  const tracker = createTracker({
    kube: o.kube,
    fleet,
    run: ctx.run,
    logger: o.logger,
    configOnly: ctx.opts.configOnly,
  });
  tracker.start();
  try {
    await tracker.synced;
    await tracker.allOwnersSeen(ctx.opts.timeoutSec * 1000);
    const left = tracker.counts().reports;
    if (left > 0) throw new Error(`${left} reports still there after deleting them`);
    const startedAt = now();
    for (const w of fleet) tracker.created(w, startedAt);
    const cpu0 = cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids);
    io.say('former engine: starting the services with one trivy config per batch');
    const services = await ctx.startServices({
      scanners: ctx.opts.scanners,
      generation: 3,
      // Another pluginConfigHash (the same checks, trivy-operator's IDs): the first pass's requests
      // are still in JetStream's duplicate window, and a request id is owner × spec × settings.
      env: { AUDITOR_BIN: o.cliAuditorBin, TRIVY_RUNS: 'process', CONFIG_CHECK_IDS: 'trivy-operator' },
    });
    await waitServicesReady(services);
    const pass = await runFirstPass(ctx, {
      existing: { startedAt, readyAt: now(), cpu0 },
      services,
      tracker,
      profDir: undefined,
      floorMs: o.floorMs,
      uniqueDigests: o.uniqueDigests,
      nproc: o.nproc,
    });
    io.say(`former engine: all reports in ${(pass.figures.timeToAllReportsMs / 1000).toFixed(1)} s`);
    return pass;
  } finally {
    await tracker.stop();
  }
}
