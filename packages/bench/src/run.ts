import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { type KubeConnection, type KubeLogger, loadKubeConfig } from '@fleetscan/kube';
import { repoRoot, type Stack, startStack } from '@fleetscan/stack';
import { createTrivyRunner, type TrivyRunner } from '@fleetscan/trivy';
import { runCliAuditPass } from './cli-pass.ts';
import { type BenchContext, type BenchIo, now, type StartedService } from './context.ts';
import { timeControlPlane } from './control-plane.ts';
import { createFleet } from './create.ts';
import {
  baselineFigures,
  fleetSummary,
  floorFigures,
  scanConcurrency,
  withFleetscanTime,
} from './figures.ts';
import { CLUSTER, runFirstPass } from './first-pass.ts';
import { type FleetWorkload, ownerAuditManifest, planFleet } from './fleet.ts';
import { pushVariants } from './images.ts';
import { gitInfo, machine } from './machine.ts';
import { createMonitor, type Monitor } from './monitor.ts';
import type { BenchOptions } from './options.ts';
import { cpuSnapshot } from './pass-io.ts';
import { planAfterFirstPass, planBench, stackOptionsFor } from './plan.ts';
import { summarizeProfiles } from './profile-files.ts';
import type { BenchResult } from './result.ts';
import { runSecondPass } from './second-pass.ts';
import { runThroughput } from './throughput-phase.ts';
import { createTracker, type Tracker } from './tracker.ts';
import { measureFloor, runBaseline } from './trivy-phases.ts';

/**
 * Runs the whole benchmark; always stops what it started. This is the wiring: the order of the
 * phases and what each starts and stops. What is measured is decided in plan.ts, when a pass is done
 * in settled.ts, and how figures are derived in figures.ts and pass-figures.ts.
 */
export async function runBench(opts: BenchOptions, io: BenchIo): Promise<BenchResult> {
  const run = Date.now().toString(36);
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    complete: false,
    machine: machine(),
    git: gitInfo(),
    options: opts,
    images: { count: 0, uniqueDigests: 0 },
    fleet: { workloads: 0, byKind: {}, containers: 0, expectedReports: 0, namespaces: 0 },
    concurrency: scanConcurrency(opts.scanners, opts.serviceEnv),
    floor: { imageMs: [], configMs: 0, configRuns: 0, manifests: 0, trivyCpuSec: 0, floorMs: 0 },
    throughput: [],
    profiles: [],
  };
  const quiet = quietLogger(io);
  const monitor = createMonitor();
  const started: StartedService[] = [];
  let tracker: Tracker | undefined;
  let kube: KubeConnection | undefined;
  let stack: Stack | undefined;
  const profDir = opts.cpuProf ? join(repoRoot, 'bench-results', 'profiles', run) : undefined;
  const env: Record<string, string> = { ...opts.serviceEnv };
  if (profDir) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();

  try {
    if (profDir) await mkdir(profDir, { recursive: true });
    io.say('starting the local stack');
    const up = await startStack({
      onProgress: (m) => io.say(`stack: ${m}`),
      ...stackOptionsFor(opts, CLUSTER),
    });
    stack = up;
    const stackPids = up.processes.map((p) => ({ name: p.name, pid: p.pid }));

    io.say(`building and pushing ${opts.images} images`);
    const images = await pushVariants(up.registry, opts.images);
    result.images = { count: images.length, uniqueDigests: new Set(images.map((i) => i.digest)).size };
    const fleet = planFleet({
      owners: opts.owners,
      images: images.map((i) => i.ref),
      containers: opts.containers,
      perNamespace: opts.perNamespace,
    });
    result.fleet = fleetSummary(fleet, opts.configOnly);
    const manifests = fleet.map((w) => ownerAuditManifest(w, run));
    const plan = planBench(opts, fleet.length);

    const runner = createTrivyRunner({
      bin: up.trivy.bin,
      cacheDir: up.trivy.cacheDir,
      timeoutMs: 900_000,
      logger: quiet,
    });
    let floorMs = Number.NaN;
    if (plan.floor) {
      result.floor = await floorPhase(
        io,
        runner,
        up.trivy.auditor,
        opts.configOnly ? [] : images,
        manifests,
        result.concurrency.total,
      );
      floorMs = result.floor.floorMs;
    }
    if (plan.baselineOwners !== undefined) {
      result.baseline = await baselinePhase(io, runner, opts, fleet, run, plan.baselineOwners, result);
    }

    const ctx: BenchContext = {
      opts,
      io,
      run,
      stack: up,
      kc: up.kubeConfig(),
      fleet,
      monitor,
      started,
      stackPids,
      startServices: serviceStarter(up, env, started, monitor),
    };
    kube = loadKubeConfig({ kubeconfigPath: up.kubeconfigPath });
    if (plan.controlPlaneOnly) {
      tracker = createTracker({ kube, fleet, run, logger: quiet, configOnly: opts.configOnly });
      tracker.start();
      await tracker.synced;
      result.controlPlane = await timeControlPlane(ctx, tracker);
      result.complete = true;
      return result;
    }
    tracker = createTracker({ kube, fleet, run, logger: quiet, configOnly: opts.configOnly });
    tracker.start();
    await tracker.synced;
    // A cold start: the fleet is there before fleetscan is, which is timed from its start.
    const existing = opts.existing ? await createExisting(ctx, tracker) : undefined;
    io.say(`starting watcher, writer and ${opts.scanners} scanner(s) as processes`);
    const first = await ctx.startServices({ scanners: opts.scanners, generation: 1 });
    await waitServicesReady(first);
    const p1 = await runFirstPass(ctx, {
      ...(existing && { existing }),
      services: first,
      tracker,
      profDir,
      floorMs,
      uniqueDigests: result.images.uniqueDigests,
      nproc: result.machine.nproc,
    });
    if (p1.error !== undefined) result.error = p1.error;
    result.firstPass = p1.figures;
    if (result.baseline) result.baseline = withFleetscanTime(result.baseline, p1.figures.timeToAllReportsMs);
    const counts = tracker.counts();
    io.say(
      `${counts.reports} of ${counts.expectedReports} reports in ${(p1.figures.timeToAllReportsMs / 1000).toFixed(1)} s`,
    );

    const later = planAfterFirstPass(opts, fleet.length, p1.timedOut);
    if (later.secondPass) result.secondPass = await runSecondPass(ctx, { first, tracker });
    if (later.throughput) await runThroughput(ctx, later.throughput, manifests, result.throughput);
    let cliTimedOut = false;
    if (opts.cliAudits && !p1.timedOut) {
      await tracker.stop();
      const cli = await runCliAuditPass(ctx, {
        running: started.map((s) => s.svc),
        kube,
        logger: quiet,
        cliAuditorBin: await writeCliAuditor(up),
        floorMs,
        uniqueDigests: result.images.uniqueDigests,
        nproc: result.machine.nproc,
      });
      result.cliPass = cli.figures;
      cliTimedOut = cli.timedOut;
      if (cli.error !== undefined) result.error = cli.error;
    }
    result.complete = !p1.timedOut && !cliTimedOut;
    if (opts.hold) await hold(io, up, started);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    io.say(`failed: ${result.error}`);
    for (const s of started) io.say(`  ${s.name} log: ${s.svc.process.logFile}`);
  } finally {
    await tracker?.stop().catch(() => {});
    kube?.close();
    await Promise.all(started.map((s) => s.svc.process.stop()));
    monitor.stop();
    await stack?.stop({ keepDir: !result.complete });
  }
  if (profDir) result.profiles = summarizeProfiles(profDir, started);
  return result;
}

/** Starts service processes for the bench cluster, each tracked as `<name>#<generation>`. */
function serviceStarter(
  stack: Stack,
  env: Record<string, string>,
  started: StartedService[],
  monitor: Monitor,
): BenchContext['startServices'] {
  return async (o) => {
    const svcs = await startServiceProcesses(stack, {
      cluster: CLUSTER,
      scanners: o.scanners,
      env: { ...env, ...o.env },
      ...(o.only ? { only: o.only } : {}),
    });
    for (const svc of svcs) {
      const name = `${svc.name}#${o.generation}`;
      started.push({ name, svc });
      monitor.track(name, svc.process.pid);
    }
    return svcs;
  };
}

/**
 * `--cli-audits`: a launcher for cli-auditor.ts (the former engine behind the worker's protocol).
 * The scanner starts its audit worker with an empty environment, so what it needs is written in.
 */
async function writeCliAuditor(stack: Stack): Promise<string> {
  const file = join(stack.dir, 'cli-auditor');
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const script = join(repoRoot, 'packages', 'bench', 'src', 'cli-auditor.ts');
  await writeFile(
    file,
    `#!/bin/sh\nexec env TRIVY_FOR_CLI_AUDITOR=${q(stack.trivy.bin)} TRIVY_CACHE_FOR_CLI_AUDITOR=${q(stack.trivy.cacheDir)} ${q(process.execPath)} ${q(script)}\n`,
    { mode: 0o755 },
  );
  return file;
}

/**
 * `--existing`: creates the fleet with no fleetscan service running and waits for every report
 * owner. Returns the moment fleetscan starts and the CPU of every process then, from which the
 * first pass counts (the services' start-up included).
 */
async function createExisting(ctx: BenchContext, tracker: Tracker) {
  ctx.io.say(`creating ${ctx.fleet.length} workloads before fleetscan starts`);
  await createFleet(ctx.kc, ctx.fleet, ctx.run, {
    concurrency: 8,
    onCreated: (w, at) => tracker.created(w, at),
  });
  await tracker.allOwnersSeen(ctx.opts.timeoutSec * 1000);
  ctx.io.say('every report owner exists');
  return { since: now(), cpuBefore: cpuSnapshot(ctx.monitor, ctx.started, ctx.stackPids) };
}

/** trivy alone: every image scanned back to back, and one config audit of every owner. */
async function floorPhase(
  io: BenchIo,
  runner: TrivyRunner,
  auditorBin: string,
  images: readonly { ref: string }[],
  manifests: readonly Record<string, unknown>[],
  concurrency: number,
): Promise<BenchResult['floor']> {
  io.say(`floor: ${images.length} image scans back to back, one config audit of ${manifests.length} owners`);
  const floor = await measureFloor(
    runner,
    auditorBin,
    images.map((i) => i.ref),
    manifests,
  );
  const figures = floorFigures(floor, concurrency);
  io.say(`floor ${(figures.floorMs / 1000).toFixed(1)} s`);
  return figures;
}

/** trivy-operator's model on the first `owners` of the fleet: one trivy per owner × container and per audit. */
async function baselinePhase(
  io: BenchIo,
  runner: TrivyRunner,
  opts: BenchOptions,
  fleet: readonly FleetWorkload[],
  run: string,
  owners: number,
  result: BenchResult,
): Promise<NonNullable<BenchResult['baseline']>> {
  const sample = fleet.slice(0, owners);
  io.say(
    `baseline: ${owners} owners, one trivy per owner × container and per config audit, ${opts.baselineConcurrency} at once`,
  );
  const b = await runBaseline(
    runner,
    sample.map((w) => ({
      images: w.containers.map((c) => c.image),
      manifest: ownerAuditManifest(w, run),
    })),
    opts.baselineConcurrency,
  );
  const figures = baselineFigures(b, {
    sampled: owners,
    fleet: result.fleet,
    uniqueDigests: result.images.uniqueDigests,
  });
  io.say(`baseline sample ${(b.wallMs / 1000).toFixed(1)} s for ${owners} owners`);
  return figures;
}

/** `--hold`: the services stopped, the stack and its fleet kept up until Ctrl-C. */
async function hold(io: BenchIo, stack: Stack, started: readonly StartedService[]): Promise<void> {
  for (const s of started) await s.svc.process.stop();
  io.say(
    `holding the stack: KUBECONFIG=${stack.kubeconfigPath} NATS_URL=${stack.natsUrl} TRIVY_CACHE_DIR=${stack.trivy.cacheDir} (Ctrl-C ends)`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

function quietLogger(io: BenchIo): KubeLogger {
  return {
    debug() {},
    info() {},
    warn(obj, msg) {
      io.say(`warn: ${msg ?? ''} ${JSON.stringify(obj)}`);
    },
    error(obj, msg) {
      io.say(`error: ${msg ?? ''} ${JSON.stringify(obj)}`);
    },
  };
}
