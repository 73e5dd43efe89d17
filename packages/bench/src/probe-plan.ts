import type { FleetWorkload } from './fleet.ts';
import type { ServerTimesSummary } from './probe-audit.ts';
import { quantile } from './stats.ts';

/**
 * New workloads under load ("probes"): which Deployments, when, and what their latencies say. Pure;
 * probes.ts creates them and waits for their reports.
 */

/** Where a run's probes go (the stack audits this namespace's writes: probe-audit.ts). */
export function probeNamespace(prefix = 'bench'): string {
  return `${prefix}-probes`;
}

/** The probes of one phase: single-container Deployments in a namespace of their own, over the fleet's images. */
export function probeWorkloads(o: {
  phase: string;
  count: number;
  images: readonly string[];
  prefix?: string;
}): FleetWorkload[] {
  if (o.images.length === 0) throw new Error('probeWorkloads: no images');
  return Array.from({ length: o.count }, (_, i) => ({
    kind: 'Deployment' as const,
    namespace: probeNamespace(o.prefix),
    name: `${o.phase}-${String(i).padStart(3, '0')}`,
    containers: [{ name: 'app', image: o.images[i % o.images.length] as string }],
  }));
}

/**
 * Seconds between probes under load: as asked, else the load's expected length spread over the
 * probes (so they cover the run), at least 1 s.
 */
export function probeIntervalMs(o: { askedSec: number; expectedMs: number; probes: number }): number {
  if (o.askedSec > 0) return o.askedSec * 1000;
  return Math.max(1000, Math.floor(o.expectedMs / Math.max(1, o.probes)));
}

/**
 * How long a load is expected to last, for spreading probes. A cold start: about 50 ms per owner on
 * this box (docs/BENCHMARKS.md: 1 000 owners in ~50 s). A DB update: its refreshes go out
 * REFRESH_BATCH_SIZE per REFRESH_INTERVAL_SECONDS, one per image and namespace.
 */
export function expectedLoadMs(
  o:
    | { load: 'cold-start'; owners: number }
    | { load: 'db-update'; imageNamespacePairs: number; batchSize: number; intervalSec: number },
): number {
  if (o.load === 'cold-start') return o.owners * 50;
  return Math.ceil(o.imageNamespacePairs / o.batchSize) * o.intervalSec * 1000;
}

/** Distinct (namespace, image) pairs of a fleet: a DB update refreshes one image request per pair. */
export function imageNamespacePairs(fleet: readonly FleetWorkload[]): number {
  const pairs = new Set<string>();
  for (const w of fleet) for (const c of w.containers) pairs.add(`${w.namespace}\u0000${c.image}`);
  return pairs.size;
}

export interface ProbeSample {
  /** Create request sent, the benchmark's clock. */
  createdAt: number;
  /** When its report owner (the ReplicaSet) appeared: the control plane's part ends here. */
  ownerAt?: number | undefined;
  /** When the last of its reports was seen; undefined: not within the wait. */
  doneAt: number | undefined;
  /** When each of its reports was seen, by kind (plural). */
  reports?: readonly { kind: string; at: number }[];
}

/** The slowest reported probe, taken apart: which of its reports came when. */
export interface SlowestProbe {
  /** Its place in creation order. */
  index: number;
  /** ms after the phase began. */
  arrivalMs: number;
  latencyMs: number;
  /** created → report owner seen. */
  ownerMs: number | undefined;
  /** Each report, ms after the owner was seen (after creation without one). */
  reports: { kind: string; ms: number }[];
}

export interface ProbeFigures {
  created: number;
  /** Probes that got every report within the wait. */
  reported: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  /** Create → all reports of each reported probe, in creation order. */
  latenciesMs: number[];
  /**
   * The two parts of it: created → report owner seen (the control plane: Deployment, then its
   * ReplicaSet), and owner seen → all reports (fleetscan).
   */
  ownerP50Ms?: number | undefined;
  ownerP99Ms?: number | undefined;
  fleetscanP50Ms?: number | undefined;
  fleetscanP99Ms?: number | undefined;
  /** When each was created, ms after the phase began (the operator model's arrivals). */
  arrivalsMs: number[];
  slowest?: SlowestProbe | undefined;
  /** The same probes on kube-apiserver's clock (its audit log), when the stack kept one. */
  server?: ServerTimesSummary | undefined;
}

/**
 * Latencies of a phase's probes. A probe never reported counts in `created` only: its latency is
 * unknown, so p99 is of the reported ones; `reported < created` must be read next to it.
 */
export function probeFigures(samples: readonly ProbeSample[], phaseStart: number): ProbeFigures {
  const latenciesMs = samples.flatMap((s) => (s.doneAt === undefined ? [] : [s.doneAt - s.createdAt]));
  const ownerMs = samples.flatMap((s) => (s.ownerAt === undefined ? [] : [s.ownerAt - s.createdAt]));
  const fleetscanMs = samples.flatMap((s) =>
    s.ownerAt === undefined || s.doneAt === undefined ? [] : [s.doneAt - s.ownerAt],
  );
  return {
    created: samples.length,
    reported: latenciesMs.length,
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    maxMs: quantile(latenciesMs, 1),
    latenciesMs,
    arrivalsMs: samples.map((s) => s.createdAt - phaseStart),
    ownerP50Ms: quantile(ownerMs, 0.5),
    ownerP99Ms: quantile(ownerMs, 0.99),
    fleetscanP50Ms: quantile(fleetscanMs, 0.5),
    fleetscanP99Ms: quantile(fleetscanMs, 0.99),
    slowest: slowestProbe(samples, phaseStart),
  };
}

function slowestProbe(samples: readonly ProbeSample[], phaseStart: number): SlowestProbe | undefined {
  let index = -1;
  for (const [i, s] of samples.entries()) {
    const worst = samples[index];
    if (s.doneAt === undefined) continue;
    if (!worst || worst.doneAt === undefined || s.doneAt - s.createdAt > worst.doneAt - worst.createdAt)
      index = i;
  }
  const s = samples[index];
  if (!s || s.doneAt === undefined) return undefined;
  const from = s.ownerAt ?? s.createdAt;
  return {
    index,
    arrivalMs: s.createdAt - phaseStart,
    latencyMs: s.doneAt - s.createdAt,
    ownerMs: s.ownerAt === undefined ? undefined : s.ownerAt - s.createdAt,
    reports: (s.reports ?? []).map((r) => ({ kind: r.kind, ms: r.at - from })),
  };
}

/** One line: "probe 0 (at 0.0 s): 11.8 s; owner 0.3 s, then vulnerabilityreports +0.4 s, …". */
export function describeSlowest(p: SlowestProbe): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const parts = p.reports.map((r) => `${r.kind} +${s(r.ms)}`).join(', ');
  return `slowest: probe ${p.index} (at ${s(p.arrivalMs)}): ${s(p.latencyMs)}; owner ${p.ownerMs === undefined ? '-' : s(p.ownerMs)}, then ${parts || 'no report'}`;
}

/** The goal: a new workload under load within 2× of the idle fleet's latency (p50 and p99 each). */
export const LATENCY_GOAL_RATIO = 2;

export function latencyRatios(
  load: Pick<ProbeFigures, 'p50Ms' | 'p99Ms' | 'created' | 'reported'>,
  idle: Pick<ProbeFigures, 'p50Ms' | 'p99Ms'>,
): { p50: number | undefined; p99: number | undefined; met: boolean } {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b <= 0 ? undefined : a / b;
  const p50 = ratio(load.p50Ms, idle.p50Ms);
  const p99 = ratio(load.p99Ms, idle.p99Ms);
  const met =
    load.created > 0 &&
    load.reported === load.created &&
    p50 !== undefined &&
    p99 !== undefined &&
    p50 <= LATENCY_GOAL_RATIO &&
    p99 <= LATENCY_GOAL_RATIO;
  return { p50, p99, met };
}
