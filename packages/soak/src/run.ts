import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { variantSpec } from '@fleetscan/bench';
import { type ServiceProcess, startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { createTransport, type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import {
  buildImage,
  createRegistryClient,
  natsConnectOptions,
  provisionCluster,
  type Stack,
  startStack,
} from '@fleetscan/stack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type ChurnOp, createChurn, dueAt } from './churn.ts';
import { applyChurn, ensureNamespaces } from './churn-apply.ts';
import { type Convergence, waitForFleet } from './converge.ts';
import { checkFleet, describeCheck } from './fleet-check.ts';
import { readFleet } from './fleet-read.ts';
import type { SoakOptions } from './options.ts';
import { deadLetters, pendingWork, takeSample } from './sampler.ts';
import { type SoakSample, type SoakVerdict, soakVerdict } from './verdict.ts';

export interface SoakIo {
  say(msg: string): void;
}

export interface SoakResult {
  options: SoakOptions;
  startedAt: string;
  loadAtStart: number[];
  loadAtEnd: number[];
  warmup: { workloads: number; seconds: number; converged: boolean; check: string };
  churn: { seconds: number; changes: number; errors: number; byOp: Record<string, number> };
  samples: SoakSample[];
  drain: { seconds: number; converged: boolean };
  end: { check: string; pending: number; deadBefore: number; deadAfter: number; problems: string[] };
  verdict: SoakVerdict;
}

const CLUSTER = 'soak';
/** Changes in flight at once at most; past it the churn falls behind its clock (and says so). */
const MAX_IN_FLIGHT = 16;

/** Runs the soak; always stops what it started (the stack's logs are kept when it fails). */
export async function runSoak(opts: SoakOptions, io: SoakIo): Promise<SoakResult> {
  const run = Date.now().toString(36);
  const namespaces = Array.from({ length: opts.namespaces }, (_, i) => `soak-${run}-${i}`);
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  let stack: Stack | undefined;
  let services: ServiceProcess[] = [];
  let kube: KubeConnection | undefined;
  let nc: NatsConnection | undefined;
  let ok = false;
  try {
    io.say('starting the local stack');
    stack = await startStack({ onProgress: (m) => io.say(`stack: ${m}`) });
    io.say(`pushing ${opts.images} images`);
    const images = await pushImages(stack, opts.images);
    io.say(`starting watcher, writer and ${opts.scanners} scanner(s) as processes`);
    // The soak's cluster has its own NATS users (watcher-soak, writer-soak), as every cluster does.
    await provisionCluster(stack, CLUSTER);
    services = await startServiceProcesses(stack, { cluster: CLUSTER, scanners: opts.scanners });
    await waitServicesReady(services);
    kube = loadKubeConfig({ kubeconfigPath: stack.kubeconfigPath });
    const transport = createTransport(kube);
    nc = await connect({ ...natsConnectOptions(stack), maxReconnectAttempts: -1 });
    const jsm = await jetstreamManager(nc);
    await ensureNamespaces(transport, namespaces, run, AbortSignal.timeout(30_000));

    const check = async () => {
      const state = await readFleet(transport, namespaces);
      // The services run with the default SCANNERS (vuln, secret): an ExposedSecretReport per container too.
      return checkFleet(state.owners, state.reports, { secrets: true });
    };
    const idle = async () => {
      const p = await pendingWork(jsm);
      return p.scan + p.results === 0;
    };

    const churn = createChurn({ seed: opts.seed, target: opts.workloads, images, namespaces, prefix: 'w' });
    io.say(`creating ${opts.workloads} workloads (seed ${opts.seed}), then waiting for their reports`);
    const warmStart = Date.now();
    const initial = churn.initial();
    await mapLimit(initial, 8, (op) => applyChurn(transport, op, run, AbortSignal.timeout(60_000)));
    const warm = await waitForFleet({ check, idle, timeoutMs: opts.drainSeconds * 1000, intervalMs: 5000 });
    const warmup = {
      workloads: initial.length,
      seconds: round((Date.now() - warmStart) / 1000),
      converged: warm.converged,
      check: describeCheck(warm.check),
    };
    io.say(
      `fleet ${warm.converged ? 'reported' : 'NOT fully reported'} after ${warmup.seconds} s: ${warmup.check}`,
    );

    const processes = services.map((s) => ({ name: s.name, pid: s.process.pid }));
    const deadBefore = await deadLetters(jsm);
    io.say(`churning at ${opts.rate}/s for ${opts.minutes} min, a sample every ${opts.sampleSeconds} s`);
    const churned = await churnPhase(
      opts,
      io,
      churn,
      (op) => applyChurn(transport, op, run, AbortSignal.timeout(60_000)),
      (at) => takeSample(jsm, processes, at),
    );

    io.say(`churn done (${churned.changes} changes, ${churned.errors} failed); waiting for the drain`);
    const drainStart = Date.now();
    const drained: Convergence = await waitForFleet({
      check,
      idle,
      timeoutMs: opts.drainSeconds * 1000,
      intervalMs: 5000,
    });
    const pending = await pendingWork(jsm);
    const deadAfter = await deadLetters(jsm);
    const end = { check: drained.check, pending: pending.scan + pending.results, deadBefore, deadAfter };
    const verdict = soakVerdict(churned.samples, end);
    io.say(
      `drain ${drained.converged ? 'done' : 'TIMED OUT'} after ${round((Date.now() - drainStart) / 1000)} s: ${describeCheck(drained.check)}`,
    );
    ok = verdict.ok;
    return {
      options: opts,
      startedAt: new Date(warmStart).toISOString(),
      loadAtStart,
      loadAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      warmup,
      churn: {
        seconds: churned.seconds,
        changes: churned.changes,
        errors: churned.errors,
        byOp: churned.byOp,
      },
      samples: churned.samples,
      drain: { seconds: round((Date.now() - drainStart) / 1000), converged: drained.converged },
      end: {
        check: describeCheck(drained.check),
        pending: end.pending,
        deadBefore,
        deadAfter,
        problems: drained.check.problems
          .slice(0, 20)
          .map((p) => `${p.problem} ${p.subject} ${p.what}: ${p.detail}`),
      },
      verdict,
    };
  } finally {
    await nc?.close().catch(() => {});
    kube?.close();
    await Promise.all(services.map((s) => s.process.stop()));
    if (!ok && stack) io.say(`logs kept in ${stack.dir}`);
    await stack?.stop({ keepDir: !ok });
  }
}

interface Churned {
  seconds: number;
  changes: number;
  errors: number;
  byOp: Record<string, number>;
  samples: SoakSample[];
}

/**
 * Applies the churn's changes on its fixed-rate clock for the run's length, one change per workload
 * at a time (a delete must not overtake its create), sampling meanwhile.
 */
async function churnPhase(
  opts: SoakOptions,
  io: SoakIo,
  churn: ReturnType<typeof createChurn>,
  apply: (op: ChurnOp) => Promise<void>,
  sample: (at: { t: number; live: number; changes: number }) => Promise<SoakSample>,
): Promise<Churned> {
  const start = Date.now();
  const end = start + opts.minutes * 60_000;
  const samples: SoakSample[] = [];
  const byOp: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const perWorkload = new Map<string, Promise<void>>();
  let changes = 0;
  let errors = 0;
  let nextSample = start;
  const sampleNow = async () => {
    const s = await sample({ t: (Date.now() - start) / 1000, live: churn.live().length, changes }).catch(
      (err: unknown) => {
        io.say(`sample failed: ${(err as Error).message}`);
        return undefined;
      },
    );
    if (!s) return;
    samples.push(s);
    const rss = Object.entries(s.rss)
      .map(([k, v]) => `${k} ${v === undefined ? '-' : (v / 1024 / 1024).toFixed(0)}`)
      .join(', ');
    io.say(
      `t=${Math.round(s.t)} s live ${s.live} changes ${s.changes} RSS MiB ${rss}; pending ${s.pending.scan}+${s.pending.results}, dead ${s.dead}, load ${s.load1}`,
    );
  };
  let sampling: Promise<void> = Promise.resolve();
  for (let index = 0; ; index++) {
    const due = start + dueAt(index, opts.rate);
    for (;;) {
      const now = Date.now();
      if (now >= nextSample) {
        // A slow sample must not hold the churn's clock back.
        sampling = sampling.then(sampleNow);
        nextSample += opts.sampleSeconds * 1000;
      }
      if (now >= due || now >= end) break;
      await sleep(Math.min(due, nextSample, end) - now);
    }
    if (Date.now() >= end) break;
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const op = churn.next();
    changes++;
    byOp[op.op] = (byOp[op.op] ?? 0) + 1;
    const name = op.workload.name;
    const p: Promise<void> = (perWorkload.get(name) ?? Promise.resolve())
      .then(() => apply(op))
      .catch((err: unknown) => {
        errors++;
        if (errors <= 5)
          io.say(`${op.op} ${op.workload.namespace}/${name} failed: ${(err as Error).message}`);
      })
      .finally(() => {
        inFlight.delete(p);
        if (perWorkload.get(name) === p) perWorkload.delete(name);
      });
    perWorkload.set(name, p);
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  await sampling;
  await sampleNow();
  return { seconds: round((Date.now() - start) / 1000), changes, errors, byOp, samples };
}

async function pushImages(stack: Stack, count: number): Promise<string[]> {
  const client = createRegistryClient({ url: stack.registry.url });
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const { repository, tag } = await client.pushImage(await buildImage(variantSpec(i, 'soak')));
    out.push(`${stack.registry.host}/${repository}:${tag}`);
  }
  return out;
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const round = (x: number) => Math.round(x * 10) / 10;
