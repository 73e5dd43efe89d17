import { quantile } from './stats.ts';

/**
 * A MODEL of trivy-operator's scan-job limit, not a measurement: how long a new workload would wait
 * for its VulnerabilityReport while a backlog is being scanned, from its documented behaviour
 * (configuration reference: OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT = 10, "the maximum number of scan
 * jobs create by the operator"; OPERATOR_SCAN_JOB_RETRY_AFTER = 30s). Its workload reconciler
 * checks the number of running scan jobs and, at the limit, pushes the workload back with
 * `RequeueAfter: ScanJobRetryAfter`; nothing else wakes it when a job ends.
 *
 * Simulated: one reconcile queue in ready-time order (controller-runtime's delaying queue), each
 * reconcile instantaneous (which favours the operator), a job holding its slot for `jobMs` (pod
 * start, the DB download of its init container, the pull and the scan), the backlog's workloads all
 * reconciled once when the load begins (the informers' initial list, or reports whose TTL ran out
 * together), new workloads reconciled when they appear.
 */
export interface OperatorModelInput {
  /** Workloads waiting for a scan job when the load begins. */
  backlog: number;
  jobMs: number;
  /** Scan jobs at once (OPERATOR_CONCURRENT_SCAN_JOBS_LIMIT). */
  slots?: number;
  /** A pushed-back workload is reconciled again after this (OPERATOR_SCAN_JOB_RETRY_AFTER). */
  retryAfterMs?: number;
  /** When each new workload appears, ms after the load began. */
  arrivalsMs: readonly number[];
}

export interface OperatorModelResult {
  /** Per new workload, in the order given: appearance → its scan job done. */
  waitsMs: number[];
  /** When the last backlog job ended; undefined if the simulation stopped first (see horizonMs). */
  backlogDoneMs: number | undefined;
  /** Backlog jobs finished by the time the last new workload's job ended. */
  backlogDoneByThen: number;
}

export const OPERATOR_SLOTS = 10;
export const OPERATOR_RETRY_AFTER_MS = 30_000;

interface Item {
  at: number;
  seq: number;
  /** Index into arrivals for a new workload; -1 for backlog workloads. */
  probe: number;
  /**
   * Backlog workloads queued together, in order: nothing changes between their reconciles (they
   * take no time), so they are reconciled as one item — exactly as one by one, and fast.
   */
  count: number;
}

/**
 * Runs until every new workload's job has ended and, if `untilBacklogDone`, the backlog too (bounded
 * by `horizonMs` of simulated time).
 */
export function simulateOperator(
  input: OperatorModelInput,
  o: { untilBacklogDone?: boolean; horizonMs?: number } = {},
): OperatorModelResult {
  const slots = input.slots ?? OPERATOR_SLOTS;
  const retry = input.retryAfterMs ?? OPERATOR_RETRY_AFTER_MS;
  const horizon = o.horizonMs ?? 7 * 24 * 3600_000;
  const heap = createHeap();
  let seq = 0;
  if (input.backlog > 0) heap.push({ at: 0, seq: seq++, probe: -1, count: input.backlog });
  for (const [i, a] of input.arrivalsMs.entries()) heap.push({ at: a, seq: seq++, probe: i, count: 1 });
  /** End times of running jobs. */
  let running: number[] = [];
  const waits: (number | undefined)[] = input.arrivalsMs.map(() => undefined);
  let probesLeft = input.arrivalsMs.length;
  let backlogLeft = input.backlog;
  let backlogDoneMs: number | undefined = input.backlog === 0 ? 0 : undefined;
  let lastProbeEnd = 0;
  const backlogEnds: number[] = [];

  for (;;) {
    const item = heap.pop();
    if (!item || item.at > horizon) break;
    if (probesLeft === 0 && (!o.untilBacklogDone || backlogLeft === 0)) break;
    const t = item.at;
    running = running.filter((end) => end > t);
    const start = Math.min(item.count, slots - running.length);
    const end = t + input.jobMs;
    for (let i = 0; i < start; i++) running.push(end);
    if (start < item.count) heap.push({ ...item, at: t + retry, seq: seq++, count: item.count - start });
    if (start === 0) continue;
    if (item.probe >= 0) {
      waits[item.probe] = end - (input.arrivalsMs[item.probe] as number);
      probesLeft--;
      lastProbeEnd = Math.max(lastProbeEnd, end);
    } else {
      backlogLeft -= start;
      backlogEnds.push(...Array.from({ length: start }, () => end));
      if (backlogLeft === 0) backlogDoneMs = end;
    }
  }
  return {
    waitsMs: waits.map((w) => w ?? Number.POSITIVE_INFINITY),
    backlogDoneMs,
    backlogDoneByThen: backlogEnds.filter((e) => e <= lastProbeEnd).length,
  };
}

/** A binary heap of items by (at, seq): ready time, then the order they were queued. */
function createHeap() {
  const a: Item[] = [];
  const less = (x: Item, y: Item) => x.at < y.at || (x.at === y.at && x.seq < y.seq);
  const swap = (i: number, j: number) => {
    const t = a[i] as Item;
    a[i] = a[j] as Item;
    a[j] = t;
  };
  return {
    push(item: Item) {
      a.push(item);
      let i = a.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(a[i] as Item, a[p] as Item)) break;
        swap(i, p);
        i = p;
      }
    },
    pop(): Item | undefined {
      if (a.length === 0) return undefined;
      const top = a[0] as Item;
      const last = a.pop() as Item;
      if (a.length > 0) {
        a[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < a.length && less(a[l] as Item, a[m] as Item)) m = l;
          if (r < a.length && less(a[r] as Item, a[m] as Item)) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
      return top;
    },
  };
}

/** The model on a phase's probe arrivals, for one job duration. */
export interface OperatorModelRow {
  jobMs: number;
  backlog: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** When the whole backlog would be scanned (ten jobs per max(job, 30 s) at best). */
  backlogDoneMs: number | undefined;
}

/** Job durations the model is shown with: a fast job and a slow one (pod start, DB download, pull). */
export const OPERATOR_JOB_MS = [10_000, 60_000] as const;

export function operatorRows(
  backlog: number,
  arrivalsMs: readonly number[],
  jobsMs: readonly number[] = OPERATOR_JOB_MS,
): OperatorModelRow[] {
  return jobsMs.map((jobMs) => {
    const r = simulateOperator({ backlog, jobMs, arrivalsMs }, { untilBacklogDone: true });
    const q = (p: number) => quantile(r.waitsMs, p) ?? 0;
    return { jobMs, backlog, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1), backlogDoneMs: r.backlogDoneMs };
  });
}
