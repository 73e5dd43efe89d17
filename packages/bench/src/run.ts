import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceProcess, startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { type KubeConnection, type KubeLogger, loadKubeConfig } from '@fleetscan/kube';
import { repoRoot, type Stack, startStack } from '@fleetscan/stack';
import { createTrivyRunner } from '@fleetscan/trivy';
import { apiserverRequests, requestDelta } from './apiserver-requests.ts';
import { createFleet } from './create.ts';
import { waitDrained } from './drain.ts';
import { type FleetWorkload, ownerAuditManifest, planFleet } from './fleet.ts';
import { profileGoServers } from './go-prof.ts';
import { pushVariants } from './images.ts';
import { createMonitor, type Monitor } from './monitor.ts';
import { natsTraffic, trafficDelta } from './nats-stats.ts';
import type { BenchOptions } from './options.ts';
import { childCpu, ownCpu, type ProcCpu, readCpu } from './proc.ts';
import { type CpuProfile, summarizeProfile } from './profile.ts';
import { histogramQuantile, type Sample, scrape, sumOf } from './prom.ts';
import type { BenchResult, CpuFigures, PassFigures } from './result.ts';
import { apiserverTarget, plainTarget } from './server-get.ts';
import { quantile } from './stats.ts';
import { measureThroughput } from './throughput.ts';
import { createTracker, type Tracker } from './tracker.ts';
import { measureFloor, runBaseline } from './trivy-phases.ts';

export interface BenchIo {
  /** A line about what is happening now. */
  say(msg: string): void;
  /** The live progress line (overwritten on a terminal). */
  progress(line: string): void;
}

const CLUSTER = 'bench';
const now = () => performance.timeOrigin + performance.now();

/** Runs the whole benchmark; always stops what it started. */
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
    concurrency: { scanners: opts.scanners, imageConcurrencyPerScanner: 1, total: opts.scanners },
    floor: { imageMs: [], configMs: 0, configRuns: 0, manifests: 0, trivyCpuSec: 0, floorMs: 0 },
    throughput: [],
    profiles: [],
  };
  const imageConcurrency = Number(opts.serviceEnv.IMAGE_CONCURRENCY ?? 1) || 1;
  result.concurrency = {
    scanners: opts.scanners,
    imageConcurrencyPerScanner: imageConcurrency,
    total: opts.scanners * imageConcurrency,
  };
  const quiet = quietLogger(io);
  const monitor = createMonitor();
  const started: { name: string; svc: ServiceProcess }[] = [];
  let tracker: Tracker | undefined;
  let kube: KubeConnection | undefined;
  let stack: Stack | undefined;
  const profDir = opts.cpuProf ? join(repoRoot, 'bench-results', 'profiles', run) : undefined;
  const env: Record<string, string> = { ...opts.serviceEnv };
  if (profDir) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();

  const startServices = async (o: { scanners: number; only?: 'scanner'; generation: number }) => {
    const svcs = await startServiceProcesses(stack as Stack, {
      cluster: CLUSTER,
      scanners: o.scanners,
      env,
      ...(o.only ? { only: o.only } : {}),
    });
    for (const s of svcs) {
      const name = `${s.name}#${o.generation}`;
      started.push({ name, svc: s });
      monitor.track(name, s.process.pid);
    }
    return svcs;
  };

  try {
    if (profDir) await mkdir(profDir, { recursive: true });
    io.say('starting the local stack');
    stack = await startStack({
      onProgress: (m) => io.say(`stack: ${m}`),
      ...(opts.kcmQps > 0 && { controllerManagerQps: opts.kcmQps }),
      profiling: opts.cpuProf,
    });
    const stackPids = stack.processes.map((p) => ({ name: p.name, pid: p.pid }));

    io.say(`building and pushing ${opts.images} images`);
    const images = await pushVariants(stack.registry, opts.images);
    result.images = { count: images.length, uniqueDigests: new Set(images.map((i) => i.digest)).size };
    const fleet = planFleet({
      owners: opts.owners,
      images: images.map((i) => i.ref),
      containers: opts.containers,
      perNamespace: opts.perNamespace,
    });
    result.fleet = fleetSummary(fleet);
    const manifests = fleet.map((w) => ownerAuditManifest(w, run));

    const runner = createTrivyRunner({
      bin: stack.trivy.bin,
      cacheDir: stack.trivy.cacheDir,
      timeoutMs: 900_000,
      logger: quiet,
    });
    let floorMs = Number.NaN;
    if (opts.floor) {
      io.say(
        `floor: ${images.length} image scans back to back, one config audit of ${manifests.length} owners`,
      );
      const floor = await measureFloor(
        runner,
        images.map((i) => i.ref),
        manifests,
      );
      floorMs = (floor.imageMs.reduce((a, b) => a + b, 0) + floor.configMs) / result.concurrency.total;
      result.floor = { ...floor, floorMs };
      io.say(`floor ${(floorMs / 1000).toFixed(1)} s`);
    }

    if (opts.baseline) {
      const k = opts.baselineSample === 0 ? fleet.length : Math.min(opts.baselineSample, fleet.length);
      const sample = fleet.slice(0, k);
      io.say(
        `baseline: ${k} owners, one trivy per owner × container and per config audit, ${opts.baselineConcurrency} at once`,
      );
      const b = await runBaseline(
        runner,
        sample.map((w) => ({
          images: w.containers.map((c) => c.image),
          manifest: ownerAuditManifest(w, run),
        })),
        opts.baselineConcurrency,
      );
      result.baseline = {
        ...b,
        extrapolated: k < fleet.length,
        estimatedMs: (b.wallMs * fleet.length) / k,
        amplification: result.fleet.containers / result.images.uniqueDigests,
      };
      io.say(`baseline sample ${(b.wallMs / 1000).toFixed(1)} s for ${k} owners`);
    }

    const kc = stack.kubeConfig();
    kube = loadKubeConfig({ kubeconfigPath: stack.kubeconfigPath });
    if (opts.controlPlaneOnly) {
      tracker = createTracker({ kube, fleet, run, logger: quiet });
      tracker.start();
      await tracker.synced;
      result.controlPlane = await timeControlPlane(io, kc, fleet, run, tracker, monitor, stackPids, opts);
      result.complete = true;
      return result;
    }
    io.say(`starting watcher, writer and ${opts.scanners} scanner(s) as processes`);
    const first = await startServices({ scanners: opts.scanners, generation: 1 });
    await waitServicesReady(first);
    tracker = createTracker({ kube, fleet, run, logger: quiet });
    tracker.start();
    await tracker.synced;
    const cpu0 = cpuSnapshot(monitor, started, stackPids);
    const nats0 = await natsTraffic(stack.natsMonitorUrl);
    const api0 = await apiserverRequests(kc);

    io.say(`creating ${fleet.length} workloads`);
    const goProf = profDir
      ? profileGoServers(
          [
            apiserverTarget(kc),
            ...(stack.natsProfUrl ? [plainTarget('nats-server', stack.natsProfUrl)] : []),
          ],
          profDir,
        )
      : undefined;
    const t = tracker;
    const stopProgress = progressLoop(io, t, first, opts.owners);
    let createdAt = 0;
    const creating = createFleet(kc, fleet, run, {
      concurrency: 8,
      onCreated: (w, at) => t.created(w, at),
    }).then(() => {
      createdAt = now();
    });
    let timedOut = false;
    try {
      await Promise.all([creating, t.allDone(opts.timeoutSec * 1000)]);
    } catch (err) {
      // Still measure what was done: the figures say how far it got and where it stood.
      timedOut = true;
      result.error = err instanceof Error ? err.message : String(err);
      io.say(`${result.error}; measuring what was done`);
    } finally {
      stopProgress();
    }
    const t0 = t.firstCreatedAt() ?? 0;
    const timeToAll = (timedOut ? now() : (t.lastReportAt() ?? now())) - t0;
    // Work still queued after the last report is waste: count it in this pass, and start the
    // second pass from a quiet pipeline.
    if (!timedOut) io.say('all reports seen; waiting for the pipeline to drain');
    await sleep(1500); // the writer counts a write after the API answers; our watch may be faster
    const drained = timedOut ? false : await waitDrained(stack, [CLUSTER], 300_000);
    if (goProf) {
      const files = await goProf.stop();
      for (const name of ['kube-apiserver', 'nats-server']) {
        const mine = files.filter((f) => f.includes(`/${name}.`));
        if (mine.length > 0) io.say(`${name} CPU profiles: go tool pprof -top ${mine.join(' ')}`);
      }
    }
    const drainMs = now() - (t.lastReportAt() ?? now());
    const pass1 = await passFigures(monitor, started, first, stackPids, cpu0, t.counts().reports);
    const nats = trafficDelta(nats0, await natsTraffic(stack.natsMonitorUrl));
    const apiRequests = requestDelta(api0, await apiserverRequests(kc));
    const lat = t.latencies();
    const firstSamples = (await Promise.all(first.map((s) => scrape(s.metricsUrl)))).flat();
    const p50 = histogramQuantile(firstSamples, 'fleetscan_watcher_publish_ack_seconds', 0.5);
    const p99 = histogramQuantile(firstSamples, 'fleetscan_watcher_publish_ack_seconds', 0.99);
    const cpuTotal = pass1.cpu.watcherSec + pass1.cpu.writerSec + pass1.cpu.scannerSec;
    result.firstPass = {
      ...pass1,
      timeToAllReportsMs: timeToAll,
      creationMs: createdAt - t0,
      drained,
      drainMs,
      ...(nats && { nats }),
      apiRequests,
      lastOwnerMs: (t.lastOwnerSeenAt() ?? 0) - t0,
      perOwnerMs: {
        p50: quantile(lat.reportsMs, 0.5) ?? 0,
        p99: quantile(lat.reportsMs, 0.99) ?? 0,
        max: quantile(lat.reportsMs, 1) ?? 0,
      },
      ownerAppearMs: { p50: quantile(lat.ownerMs, 0.5) ?? 0, p99: quantile(lat.ownerMs, 0.99) ?? 0 },
      ratioToFloor: timeToAll / floorMs,
      timeTo99PctMs: (quantile(t.doneTimes(), 0.99) ?? t0) - t0,
      amplification: pass1.trivyImageRuns / result.images.uniqueDigests,
      configRunsPerOwner: pass1.trivyConfigRuns / fleet.length,
      cpuPerReportMs: (cpuTotal * 1000) / Math.max(pass1.reports, 1),
      // Every process of the run on this box's cores: no schedule finishes sooner.
      cpuBoundMs:
        ((cpuTotal + pass1.cpu.trivySec + pass1.cpu.stackSec + pass1.cpu.benchSec) * 1000) /
        result.machine.nproc,
      publishAck: {
        ...(p50 !== undefined ? { p50Ms: p50 * 1000 } : {}),
        ...(p99 !== undefined ? { p99Ms: p99 * 1000 } : {}),
        count: sumOf(firstSamples, 'fleetscan_watcher_publish_ack_seconds_count'),
      },
    };
    if (result.baseline) result.baseline.ratioToFleetscan = result.baseline.estimatedMs / timeToAll;
    io.say(
      `${t.counts().reports} of ${t.counts().expectedReports} reports in ${(timeToAll / 1000).toFixed(1)} s`,
    );

    if (opts.secondPass && !timedOut) {
      io.say('second pass: restarting watcher and writer with everything reported');
      const scanners = first.filter((s) => s.name.startsWith('scanner'));
      const scanBefore = (await Promise.all(scanners.map((s) => scrape(s.metricsUrl)))).flat();
      const events0 = t.reportEvents();
      for (const s of first.filter((x) => !x.name.startsWith('scanner'))) await s.process.stop();
      const cpuBefore = cpuSnapshot(monitor, started, stackPids);
      const t1 = now();
      const second = await startServices({ scanners: 0, generation: 2 });
      await waitServicesReady(second);
      const readyMs = now() - t1;
      const watcher = second.find((s) => s.name === 'watcher') as ServiceProcess;
      const writer = second.find((s) => s.name === 'writer') as ServiceProcess;
      await waitUntil(async () => {
        const w = await scrape(watcher.metricsUrl);
        return sumOf(w, 'fleetscan_watcher_evaluations_total') >= fleet.length;
      }, 300_000);
      const evaluatedMs = now() - t1;
      // Settled: nothing moves on any counter for 5 s.
      let last = '';
      let stableSince = now();
      const deadline = now() + 120_000;
      while (now() - stableSince < 5000 && now() < deadline) {
        const all = (
          await Promise.all([...scanners, watcher, writer].map((s) => scrape(s.metricsUrl)))
        ).flat();
        const sig = JSON.stringify([
          sumOf(all, 'fleetscan_watcher_requests_total'),
          sumOf(all, 'fleetscan_scanner_requests_total'),
          sumOf(all, 'fleetscan_writer_results_total'),
          sumOf(all, 'fleetscan_writer_reports_total'),
        ]);
        if (sig !== last) {
          last = sig;
          stableSince = now();
        }
        await sleep(1000);
      }
      const settledMs = now() - t1;
      const pass2 = await passFigures(
        monitor,
        started,
        second,
        stackPids,
        cpuBefore,
        0,
        scanners,
        scanBefore,
      );
      const events1 = t.reportEvents();
      result.secondPass = {
        ...pass2,
        readyMs,
        evaluatedMs,
        settledMs,
        reportEvents: {
          added: events1.added - events0.added,
          modified: events1.modified - events0.modified,
          deleted: events1.deleted - events0.deleted,
        },
      };
      io.say(
        `second pass: ready in ${(readyMs / 1000).toFixed(1)} s, ${pass2.writes} writes, ${pass2.trivyImageRuns + pass2.trivyConfigRuns} trivy runs`,
      );
    }

    if (opts.throughput && !timedOut) {
      for (const s of started.filter((x) => x.svc.name.startsWith('scanner'))) await s.svc.process.stop();
      const m = Math.min(fleet.length, 200);
      for (const n of [1, 2]) {
        io.say(`scanner throughput with ${n} replica(s): ${opts.images} fresh images, ${m} config audits`);
        const fresh = await pushVariants(stack.registry, opts.images, `tp${n}-`);
        const scs = await startServices({ scanners: n, only: 'scanner', generation: 10 + n });
        await waitServicesReady(scs);
        result.throughput.push(
          await measureThroughput({
            stack,
            cluster: `tp-${n}`,
            scannerMetricsUrls: scs.map((s) => s.metricsUrl),
            images: fresh.map((i) => i.ref),
            manifests: manifests.slice(0, m),
            timeoutMs: 600_000,
          }),
        );
        for (const s of scs) await s.process.stop();
      }
    }
    result.complete = !timedOut;
    if (opts.hold) {
      for (const s of started) await s.svc.process.stop();
      io.say(
        `holding the stack: KUBECONFIG=${stack.kubeconfigPath} NATS_URL=${stack.natsUrl} TRIVY_CACHE_DIR=${stack.trivy.cacheDir} (Ctrl-C ends)`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
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

function fleetSummary(fleet: readonly FleetWorkload[]): BenchResult['fleet'] {
  const byKind: Record<string, number> = {};
  for (const w of fleet) byKind[w.kind] = (byKind[w.kind] ?? 0) + 1;
  const containers = fleet.reduce((a, w) => a + w.containers.length, 0);
  return {
    workloads: fleet.length,
    byKind,
    containers,
    expectedReports: fleet.length + containers,
    namespaces: new Set(fleet.map((w) => w.namespace)).size,
  };
}

/** The fleet created with no fleetscan service: what the control plane alone needs for it. */
async function timeControlPlane(
  io: BenchIo,
  kc: Parameters<typeof createFleet>[0],
  fleet: readonly FleetWorkload[],
  run: string,
  t: Tracker,
  monitor: Monitor,
  stackPids: readonly StackProc[],
  opts: BenchOptions,
): Promise<NonNullable<BenchResult['controlPlane']>> {
  const cpu0 = cpuSnapshot(monitor, [], stackPids);
  const api0 = await apiserverRequests(kc);
  io.say(`control plane only: creating ${fleet.length} workloads, no fleetscan service running`);
  const stopProgress = progressLoop(io, t, [], opts.owners);
  let createdAt = 0;
  try {
    await Promise.all([
      createFleet(kc, fleet, run, { concurrency: 8, onCreated: (w, at) => t.created(w, at) }).then(() => {
        createdAt = now();
      }),
      t.allOwnersSeen(opts.timeoutSec * 1000),
    ]);
  } finally {
    stopProgress();
  }
  const cpu1 = cpuSnapshot(monitor, [], stackPids);
  const apiRequests = requestDelta(api0, await apiserverRequests(kc));
  const delta = (key: string) => {
    const a = cpu1.get(key);
    const b = cpu0.get(key);
    return a && b ? ownCpu(a) - ownCpu(b) : 0;
  };
  const t0 = t.firstCreatedAt() ?? 0;
  const ownerMs = t.latencies().ownerMs;
  return {
    timeToAllOwnersMs: (t.lastOwnerSeenAt() ?? now()) - t0,
    creationMs: createdAt - t0,
    ownerAppearMs: { p50: quantile(ownerMs, 0.5) ?? 0, p99: quantile(ownerMs, 0.99) ?? 0 },
    stackCpuSec: stackPids.reduce((a, { pid }) => a + delta(`stack:${pid}`), 0),
    stackByProcess: byProcess(stackPids, (pid) => delta(`stack:${pid}`)),
    apiRequests,
    benchCpuSec: delta('bench'),
  };
}

type Snapshot = Map<string, ProcCpu>;
type StackProc = { name: string; pid: number };

/** CPU seconds per stack process name (the two registries add up under one name). */
function byProcess(procs: readonly StackProc[], cpu: (pid: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of procs) out[p.name] = (out[p.name] ?? 0) + cpu(p.pid);
  return out;
}

function cpuSnapshot(
  monitor: Monitor,
  started: readonly { name: string }[],
  stackPids: readonly StackProc[],
): Snapshot {
  const snap: Snapshot = new Map();
  for (const s of started) {
    const c = monitor.cpu(s.name);
    if (c) snap.set(s.name, c);
  }
  for (const { pid } of stackPids) {
    const c = readCpu(pid);
    if (c) snap.set(`stack:${pid}`, c);
  }
  const self = readCpu(process.pid);
  if (self) snap.set('bench', self);
  return snap;
}

/** Counters and CPU of one pass: `svcs` are that pass's processes; scanners may come from before. */
async function passFigures(
  monitor: Monitor,
  started: readonly { name: string; svc: ServiceProcess }[],
  svcs: readonly ServiceProcess[],
  stackPids: readonly StackProc[],
  before: Snapshot,
  reports: number,
  extraScanners: readonly ServiceProcess[] = [],
  scannerBaseline: readonly Sample[] = [],
): Promise<PassFigures> {
  const all = [...svcs, ...extraScanners];
  const samples = (await Promise.all(all.map((s) => scrape(s.metricsUrl)))).flat();
  const after = cpuSnapshot(monitor, started, stackPids);
  const names = new Map(started.map((s) => [s.svc, s.name]));
  const delta = (key: string, f: (c: ProcCpu) => number) => {
    const a = after.get(key);
    if (!a) return 0;
    const b = before.get(key);
    return f(a) - (b ? f(b) : 0);
  };
  const sumFor = (pred: (s: ServiceProcess) => boolean, f: (c: ProcCpu) => number) =>
    all.filter(pred).reduce((acc, s) => acc + delta(names.get(s) ?? '', f), 0);
  const isScanner = (s: ServiceProcess) => s.name.startsWith('scanner');
  const cpu: CpuFigures = {
    watcherSec: sumFor((s) => s.name === 'watcher', ownCpu),
    writerSec: sumFor((s) => s.name === 'writer', ownCpu),
    scannerSec: sumFor(isScanner, ownCpu),
    trivySec: sumFor(isScanner, childCpu),
    stackSec: stackPids.reduce((a, { pid }) => a + delta(`stack:${pid}`, ownCpu), 0),
    stackByProcess: byProcess(stackPids, (pid) => delta(`stack:${pid}`, ownCpu)),
    benchSec: delta('bench', ownCpu),
  };
  const runs = (type: string) =>
    sumOf(samples, 'fleetscan_scanner_trivy_runs_total', { type }) -
    sumOf(scannerBaseline, 'fleetscan_scanner_trivy_runs_total', { type });
  const outcomes: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== 'fleetscan_writer_reports_total') continue;
    const o = s.labels.outcome ?? '';
    outcomes[o] = (outcomes[o] ?? 0) + s.value;
  }
  const writes = outcomes.written ?? 0;
  const peak = (pred: (s: ServiceProcess) => boolean) =>
    Math.max(0, ...all.filter(pred).map((s) => monitor.peakRss(names.get(s) ?? '')));
  return {
    reports,
    writes,
    writesPerReport: reports > 0 ? writes / reports : 0,
    writerOutcomes: outcomes,
    trivyImageRuns: runs('image'),
    trivyConfigRuns: runs('config'),
    requestsPublished: {
      image: sumOf(samples, 'fleetscan_watcher_requests_total', { type: 'image', outcome: 'published' }),
      config: sumOf(samples, 'fleetscan_watcher_requests_total', { type: 'config', outcome: 'published' }),
    },
    cpu,
    peakRss: {
      watcher: peak((s) => s.name === 'watcher'),
      writer: peak((s) => s.name === 'writer'),
      scanners: peak(isScanner),
    },
  };
}

function progressLoop(io: BenchIo, t: Tracker, svcs: readonly ServiceProcess[], owners: number): () => void {
  const t0 = now();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const watcher = svcs.find((s) => s.name === 'watcher');
      const scanners = svcs.filter((s) => s.name.startsWith('scanner'));
      const w = watcher ? await scrape(watcher.metricsUrl, 2000) : [];
      const sc = (await Promise.all(scanners.map((s) => scrape(s.metricsUrl, 2000)))).flat();
      const c = t.counts();
      io.progress(
        [
          `${((now() - t0) / 1000).toFixed(0).padStart(4)} s`,
          `created ${c.created}/${owners}`,
          `owners ${c.ownersSeen}`,
          `requests img ${sumOf(w, 'fleetscan_watcher_requests_total', { type: 'image', outcome: 'published' })} cfg ${sumOf(w, 'fleetscan_watcher_requests_total', { type: 'config', outcome: 'published' })}`,
          `trivy img ${sumOf(sc, 'fleetscan_scanner_trivy_runs_total', { type: 'image' })} cfg ${sumOf(sc, 'fleetscan_scanner_trivy_runs_total', { type: 'config' })}`,
          `reports ${c.reports}/${c.expectedReports}`,
          `done ${c.done}/${c.workloads}`,
        ].join(' · '),
      );
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 2000);
  return () => {
    clearInterval(timer);
    void tick();
  };
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

function summarizeProfiles(dir: string, started: readonly { name: string; svc: ServiceProcess }[]) {
  const out: BenchResult['profiles'] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return out;
  }
  for (const s of started) {
    const file = files.find((f) => f.split('.').includes(String(s.svc.process.pid)));
    if (!file) continue;
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    out.push({ service: s.name, file: join(dir, file), ...summarizeProfile(p) });
  }
  return out;
}

function machine(): BenchResult['machine'] {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {}
  return {
    nproc: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel,
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
}

function gitInfo(): BenchResult['git'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirtyFiles: git('status', '--porcelain').split('\n').filter(Boolean).length,
    };
  } catch {
    return { commit: 'unknown', dirtyFiles: 0 };
  }
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
