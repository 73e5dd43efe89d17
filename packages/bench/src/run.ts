import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ServiceProcess, startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { type KubeConnection, type KubeLogger, loadKubeConfig } from '@fleetscan/kube';
import { provisionCluster, repoRoot, type Stack, startStack } from '@fleetscan/stack';
import { createTrivyRunner, type TrivyRunner } from '@fleetscan/trivy';
import { runApiCost } from './api-cost.ts';
import { runCliAuditPass } from './cli-pass.ts';
import { type BenchContext, type BenchIo, now, type StartedService } from './context.ts';
import { timeControlPlane } from './control-plane.ts';
import { runDbUpdate } from './db-update.ts';
import {
  baselineFigures,
  fleetSummary,
  floorFigures,
  scanConcurrency,
  withFleetscanTime,
} from './figures.ts';
import { CLUSTER, runFirstPass } from './first-pass.ts';
import { type FleetWorkload, ownerAuditManifest, planFleet } from './fleet.ts';
import { type BenchImage, pushVariants } from './images.ts';
import { gitInfo, machine } from './machine.ts';
import { createMonitor, type Monitor } from './monitor.ts';
import { operatorRows } from './operator-model.ts';
import type { BenchOptions } from './options.ts';
import { cpuSnapshot } from './pass-io.ts';
import { phaseRuns, planBench, throughputPlan } from './plan.ts';
import {
  expectedLoadMs,
  imageNamespacePairs,
  type ProbeFigures,
  probeIntervalMs,
  probeNamespace,
  probeWorkloads,
} from './probe-plan.ts';
import { runIdleProbes, startLoadProbes } from './probes.ts';
import { summarizeProfiles } from './profile-files.ts';
import type { BenchResult } from './result.ts';
import { runScaleOut } from './scale-out.ts';
import { runSecondPass } from './second-pass.ts';
import { runThroughput } from './throughput-phase.ts';
import { createTracker, type Tracker } from './tracker.ts';
import { measureFloor, runBaseline } from './trivy-phases.ts';

/** Probes on the idle fleet get this long each. */
const IDLE_PROBE_TIMEOUT_MS = 120_000;
/** Idle-fleet probes with images never scanned: each costs a trivy analysis. */
const NEW_IMAGE_PROBES = 5;
/** The watcher's refresh pacing by default (its config.ts), for spreading probes over a DB update. */
const REFRESH_DEFAULTS = { batchSize: 100, intervalSec: 10 };

/**
 * Runs the whole benchmark; always stops what it started. This is the wiring: each phase of the plan
 * (plan.ts) in order, and what each starts and stops. When a pass is done is decided in settled.ts,
 * and figures are derived in figures.ts, pass-figures.ts, load-figures.ts and probe-plan.ts.
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
  const env = serviceEnv(opts);
  if (profDir) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();

  try {
    if (profDir) await mkdir(profDir, { recursive: true });
    io.say('starting the local stack');
    const up = await startStack({
      onProgress: (m) => io.say(`stack: ${m}`),
      ...(opts.kcmQps > 0 && { controllerManagerQps: opts.kcmQps }),
      profiling: opts.cpuProf,
      // The probes' writes, to take their latency apart on the API server's clock (probe-audit.ts).
      ...(opts.probes > 0 && { auditNamespaces: [probeNamespace()] }),
    });
    stack = up;
    // The benchmark's cluster has its own watcher and writer NATS users, as every cluster does: the
    // stack makes those of its own clusters only.
    await provisionCluster(up, CLUSTER);
    const stackPids = up.processes.map((p) => ({ name: p.name, pid: p.pid }));
    const plan = planBench(opts, opts.owners);

    let images: BenchImage[] = [];
    let fleet: FleetWorkload[] = [];
    if (plan.fleet) {
      io.say(`building and pushing ${opts.images} images`);
      images = await pushVariants(up.registry, opts.images);
      result.images = { count: images.length, uniqueDigests: new Set(images.map((i) => i.digest)).size };
      fleet = planFleet({
        owners: opts.owners,
        images: images.map((i) => i.ref),
        containers: opts.containers,
        perNamespace: opts.perNamespace,
      });
      result.fleet = fleetSummary(fleet, opts.configOnly);
    }
    const manifests = fleet.map((w) => ownerAuditManifest(w, run));
    const runner = createTrivyRunner({
      bin: up.trivy.bin,
      cacheDir: up.trivy.cacheDir,
      timeoutMs: 900_000,
      logger: quiet,
    });
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
    const conn = kube;
    const follow = async (): Promise<Tracker> => {
      if (tracker) return tracker;
      tracker = createTracker({ kube: conn, fleet, run, logger: quiet, configOnly: opts.configOnly });
      tracker.start();
      await tracker.synced;
      return tracker;
    };
    const probeImages = images.map((i) => i.ref);
    const probes = (phase: string) => probeWorkloads({ phase, count: opts.probes, images: probeImages });
    const loadProbes = (t: Tracker, phase: 'cold' | 'db', expectedMs: number, backlog: number) => {
      const intervalMs = probeIntervalMs({
        askedSec: opts.probeIntervalSec,
        expectedMs,
        probes: opts.probes,
      });
      let running: ReturnType<typeof startLoadProbes> | undefined;
      let figures:
        | (ProbeFigures & { intervalMs: number; operator: ReturnType<typeof operatorRows> })
        | undefined;
      return {
        start: () => {
          running = startLoadProbes(ctx, t, probes(phase), {
            intervalMs,
            timeoutMs: opts.timeoutSec * 1000,
          });
        },
        stop: async () => {
          const f = await running?.stop();
          if (f) figures = { ...f, intervalMs, operator: operatorRows(backlog, f.arrivalsMs) };
        },
        figures: () => figures,
      };
    };

    let floorMs = Number.NaN;
    let services: ServiceProcess[] = [];
    let gaveUp = false;
    for (const phase of plan.phases) {
      if (!phaseRuns(phase, gaveUp)) continue;
      switch (phase) {
        case 'floor':
          result.floor = await floorPhase(
            io,
            runner,
            up.trivy.auditor,
            opts.configOnly ? [] : images,
            manifests,
            result.concurrency.total,
          );
          floorMs = result.floor.floorMs;
          break;
        case 'baseline':
          result.baseline = await baselinePhase(
            io,
            runner,
            opts,
            fleet,
            run,
            plan.baselineOwners ?? 0,
            result,
          );
          break;
        case 'control-plane':
          result.controlPlane = await timeControlPlane(ctx, await follow());
          break;
        case 'first-pass':
        case 'cold-start': {
          const existing = phase === 'cold-start';
          const t = existing ? await follow() : undefined;
          io.say(`starting watcher, writer and ${opts.scanners} scanner(s) as processes`);
          const startedAt = now();
          const cpu0 = cpuSnapshot(monitor, started, stackPids);
          services = await ctx.startServices({ scanners: opts.scanners, generation: 1 });
          await waitServicesReady(services);
          const readyAt = now();
          const tr = t ?? (await follow());
          const probing =
            existing && opts.probes > 0
              ? loadProbes(
                  tr,
                  'cold',
                  expectedLoadMs({ load: 'cold-start', owners: fleet.length }),
                  fleet.length,
                )
              : undefined;
          const p1 = await runFirstPass(ctx, {
            services,
            tracker: tr,
            profDir,
            floorMs,
            uniqueDigests: result.images.uniqueDigests,
            nproc: result.machine.nproc,
            ...(existing && { existing: { startedAt, readyAt, cpu0 } }),
            ...(probing && { during: probing }),
          });
          if (p1.error !== undefined) result.error = p1.error;
          gaveUp = p1.timedOut;
          result.firstPass = p1.figures;
          const coldStart = probing?.figures();
          if (coldStart) result.probes = { ...result.probes, coldStart };
          if (result.baseline)
            result.baseline = withFleetscanTime(result.baseline, p1.figures.timeToAllReportsMs);
          const counts = tr.counts();
          io.say(
            `${counts.reports} of ${counts.expectedReports} reports in ${(p1.figures.timeToAllReportsMs / 1000).toFixed(1)} s`,
          );
          break;
        }
        case 'idle-probes':
          result.probes = {
            ...result.probes,
            idle: await runIdleProbes(ctx, await follow(), probes('idle'), IDLE_PROBE_TIMEOUT_MS),
          };
          break;
        case 'idle-new-image-probes': {
          const fresh = await pushVariants(up.registry, Math.min(opts.probes, NEW_IMAGE_PROBES), 'new-');
          const w = probeWorkloads({
            phase: 'idle-new',
            count: fresh.length,
            images: fresh.map((i) => i.ref),
          });
          result.probes = {
            ...result.probes,
            idleNewImage: await runIdleProbes(
              ctx,
              await follow(),
              w,
              IDLE_PROBE_TIMEOUT_MS,
              'images never scanned',
            ),
          };
          break;
        }
        case 'db-update': {
          const t = await follow();
          const pairs = imageNamespacePairs(fleet);
          const probing =
            opts.probes > 0
              ? loadProbes(
                  t,
                  'db',
                  expectedLoadMs({
                    load: 'db-update',
                    imageNamespacePairs: pairs,
                    batchSize: Number(env.REFRESH_BATCH_SIZE ?? REFRESH_DEFAULTS.batchSize),
                    intervalSec: Number(env.REFRESH_INTERVAL_SECONDS ?? REFRESH_DEFAULTS.intervalSec),
                  }),
                  // trivy-operator does not rescan on a new DB; its like is every report's TTL running out at once.
                  fleet.length,
                )
              : undefined;
          result.dbUpdate = await runDbUpdate(ctx, {
            services,
            tracker: t,
            timeoutMs: opts.timeoutSec * 1000,
            ...(probing && { during: probing }),
          });
          const dbProbes = probing?.figures();
          if (dbProbes) result.probes = { ...result.probes, dbUpdate: dbProbes };
          if (!result.dbUpdate.complete) gaveUp = true;
          break;
        }
        case 'second-pass':
          result.secondPass = await runSecondPass(ctx, { first: services, tracker: await follow() });
          break;
        case 'throughput':
          await runThroughput(ctx, throughputPlan(fleet.length), manifests, result.throughput);
          break;
        case 'cli-audits': {
          // A tracker of its own: the former engine's pass starts with no ConfigAuditReport.
          await tracker?.stop();
          tracker = undefined;
          const cli = await runCliAuditPass(ctx, {
            running: services,
            kube: conn,
            logger: quiet,
            cliAuditorBin: await writeCliAuditor(up),
            floorMs,
            uniqueDigests: result.images.uniqueDigests,
            nproc: result.machine.nproc,
          });
          result.cliPass = cli.figures;
          if (cli.error !== undefined) result.error = cli.error;
          if (cli.timedOut) gaveUp = true;
          break;
        }
        case 'api-cost':
          // The services are stopped first: the API server's CPU is then the writes' alone.
          for (const s of started) await s.svc.process.stop();
          await tracker?.stop();
          tracker = undefined;
          result.apiCost = await runApiCost(ctx, { reports: opts.apiCost, kube: conn });
          break;
        case 'scale-out':
          result.scaleOut = await runScaleOut(ctx, opts.scaleOut);
          break;
        case 'hold':
          await hold(io, up, started);
          break;
      }
    }
    result.complete = !gaveUp;
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

/**
 * The services' environment: the options' pairs, and for --db-update a DB check every 2 s (the
 * scanners' default is 30 s: the refresh would begin up to 30 s after the bump) unless given.
 */
function serviceEnv(opts: BenchOptions): Record<string, string> {
  return { ...(opts.dbUpdate && { DB_CHECK_SECONDS: '2' }), ...opts.serviceEnv };
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

/** `--hold`: the services stopped, the stack (and its fleet, if any) kept up until Ctrl-C. */
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
