import { describeCheck, type FleetCheck, isConverged } from './fleet-check.ts';

/** One sample of the churn phase. */
export interface SoakSample {
  /** Seconds since the churn started. */
  t: number;
  /** Resident set of each service process, bytes (absent: not readable, e.g. it died). */
  rss: Record<string, number | undefined>;
  /** Messages in the work-queue streams: requests waiting for scanners, results for the writer. */
  pending: { scan: number; results: number };
  /** Messages in FLEETSCAN_DEAD (terminated) so far. */
  dead: number;
  /** Workloads alive in the churn's model, and changes applied so far. */
  live: number;
  changes: number;
  /** The machine's 1-minute load average (it is shared: the figures are only as quiet as it was). */
  load1: number;
}

export interface VerdictOptions {
  /** RSS may grow this much (fraction) from the first quarter to the last and still be flat. */
  rssTolerance: number;
  /** …plus this many bytes: small processes move by a few MB for nothing. */
  rssSlackBytes: number;
  /** Pending may grow this much (fraction) from the first quarter's mean to the last's… */
  pendingTolerance: number;
  /** …plus this many messages. */
  pendingSlack: number;
}

export const DEFAULT_VERDICT: VerdictOptions = {
  rssTolerance: 0.1,
  rssSlackBytes: 16 * 1024 * 1024,
  pendingTolerance: 0.5,
  pendingSlack: 20,
};

export interface Criterion {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakVerdict {
  ok: boolean;
  criteria: Criterion[];
}

export interface SoakEnd {
  /** The fleet check once the churn stopped and the work drained (or the drain timed out). */
  check: FleetCheck;
  /** Pending messages after the drain. */
  pending: number;
  /** Dead letters at the start of the churn and at the end. */
  deadBefore: number;
  deadAfter: number;
}

/** The first and last quarter of the samples (at least one each); undefined with fewer than 4. */
export function quarters<T>(samples: readonly T[]): { first: T[]; last: T[] } | undefined {
  if (samples.length < 4) return undefined;
  const q = Math.floor(samples.length / 4);
  return { first: samples.slice(0, q), last: samples.slice(samples.length - q) };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The soak's verdict: memory and pending work flat (last quarter against the first, means, within a
 * tolerance), no message terminated, and after the drain nothing pending and every report current,
 * with no orphan and no duplicate.
 */
export function soakVerdict(
  samples: readonly SoakSample[],
  end: SoakEnd,
  opts: VerdictOptions = DEFAULT_VERDICT,
): SoakVerdict {
  const criteria: Criterion[] = [];
  const q = quarters(samples);
  if (!q) {
    criteria.push({ name: 'samples', ok: false, detail: `${samples.length} samples; at least 4 are needed` });
  } else {
    const services = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))].sort();
    for (const svc of services) {
      const values = (list: readonly SoakSample[]) =>
        list.map((s) => s.rss[svc]).filter((v): v is number => v !== undefined);
      const first = values(q.first);
      const last = values(q.last);
      if (first.length === 0 || last.length === 0) {
        criteria.push({ name: `RSS ${svc}`, ok: false, detail: 'not sampled in the first or last quarter' });
        continue;
      }
      const a = mean(first);
      const b = mean(last);
      const limit = a * (1 + opts.rssTolerance) + opts.rssSlackBytes;
      criteria.push({
        name: `RSS ${svc} flat`,
        ok: b <= limit,
        detail: `first quarter ${mib(a)}, last ${mib(b)} (${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %; limit ${mib(limit)})`,
      });
    }
    const pending = (list: readonly SoakSample[]) => list.map((s) => s.pending.scan + s.pending.results);
    const a = mean(pending(q.first));
    const b = mean(pending(q.last));
    const limit = a * (1 + opts.pendingTolerance) + opts.pendingSlack;
    criteria.push({
      name: 'pending flat',
      ok: b <= limit,
      detail: `first quarter ${a.toFixed(1)}, last ${b.toFixed(1)} messages on average (limit ${limit.toFixed(1)})`,
    });
  }
  const dead = end.deadAfter - end.deadBefore;
  criteria.push({ name: 'no dead letters', ok: dead === 0, detail: `${dead} terminated during the soak` });
  criteria.push({
    name: 'drained',
    ok: end.pending === 0,
    detail: `${end.pending} messages pending after the drain`,
  });
  criteria.push({
    name: 'every report current',
    ok: isConverged(end.check),
    detail: describeCheck(end.check),
  });
  return { ok: criteria.every((c) => c.ok), criteria };
}
