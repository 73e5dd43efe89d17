import { quantile } from './stats.ts';

/**
 * A probe's latency taken apart on kube-apiserver's clock, from its audit log (the stack's
 * `auditNamespaces`): when the probe's Deployment arrived, when the controller manager's ReplicaSet
 * (the reports' owner) was stored, when the writer's first write of each report arrived and when it
 * was answered. The benchmark's own timings cannot tell the API server's part from fleetscan's: a
 * write that took 150 ms may have waited in the writer or in the server. Pure: the run reads the file.
 */

/** The fields of an audit.k8s.io/v1 Event this reads. */
interface AuditEvent {
  stage?: string;
  verb?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

export interface ProbeServerTimes {
  probe: string;
  /** The Deployment's create arrived → its ReplicaSet stored: the control plane. */
  ownerMs: number;
  /** The ReplicaSet stored → the write of the last report to exist arrived: fleetscan, and its watch. */
  fleetscanMs: number;
  /** That write arrived → answered: kube-apiserver. */
  writeMs: number;
  /** The Deployment's create arrived → the last report's write answered: the three together. */
  totalMs: number;
  /** The report that came last (resource/name). */
  last: string;
}

/** p50 and max of one part over a phase's probes. */
export interface Spread {
  p50: number | undefined;
  max: number | undefined;
}

export interface ServerTimesSummary {
  probes: number;
  ownerMs: Spread;
  fleetscanMs: Spread;
  writeMs: Spread;
  totalMs: Spread;
  /** Every probe's, in `probes` order (those with all their reports' writes in the log). */
  each: ProbeServerTimes[];
}

/** Milliseconds since the epoch of an RFC 3339 time with microseconds (Date keeps ms only). */
export function auditTimeMs(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(t);
  if (!m?.[1]) return Number.NaN;
  const frac = Number(`0.${m[2] ?? '0'}`);
  return Date.parse(`${m[1]}Z`) + frac * 1000;
}

/**
 * The server's times of each probe (a Deployment named as in `probes`, in `namespace`), from the
 * audit log's lines. `reportResources`: the reports a probe waits for (plural resource names); the
 * first successful write of each counts. A probe missing any of them is left out.
 */
export function probeServerTimes(
  lines: Iterable<string>,
  o: { namespace: string; probes: readonly string[]; reportResources: readonly string[] },
): ProbeServerTimes[] {
  const deployments = new Map<string, number>();
  const replicaSets: { name: string; storedAt: number }[] = [];
  const writes = new Map<string, { resource: string; name: string; at: number; doneAt: number }>();
  for (const line of lines) {
    const e = parse(line);
    const ref = e?.objectRef;
    if (!e || !ref || ref.namespace !== o.namespace || e.stage !== 'ResponseComplete') continue;
    const code = e.responseStatus?.code ?? 0;
    if (code < 200 || code >= 300 || !ref.name || !e.requestReceivedTimestamp || !e.stageTimestamp) continue;
    const at = auditTimeMs(e.requestReceivedTimestamp);
    const doneAt = auditTimeMs(e.stageTimestamp);
    if (ref.resource === 'deployments' && e.verb === 'create') deployments.set(ref.name, at);
    else if (ref.resource === 'replicasets' && e.verb === 'create')
      replicaSets.push({ name: ref.name, storedAt: doneAt });
    else if (ref.resource && o.reportResources.includes(ref.resource)) {
      const key = `${ref.resource}/${ref.name}`;
      if (!writes.has(key)) writes.set(key, { resource: ref.resource, name: ref.name, at, doneAt });
    }
  }
  return o.probes.flatMap((probe): ProbeServerTimes[] => {
    const createdAt = deployments.get(probe);
    // A Deployment's ReplicaSet is named `<deployment>-<pod template hash>`.
    const rs = replicaSets.find(
      (r) => r.name.startsWith(`${probe}-`) && !r.name.slice(probe.length + 1).includes('-'),
    );
    if (createdAt === undefined || !rs) return [];
    const mine = [...writes.values()].filter((w) => w.name.includes(rs.name));
    if (o.reportResources.some((res) => !mine.some((w) => w.resource === res))) return [];
    const last = mine.reduce((a, b) => (b.doneAt > a.doneAt ? b : a));
    return [
      {
        probe,
        ownerMs: rs.storedAt - createdAt,
        fleetscanMs: last.at - rs.storedAt,
        writeMs: last.doneAt - last.at,
        totalMs: last.doneAt - createdAt,
        last: `${last.resource}/${last.name}`,
      },
    ];
  });
}

export function summarizeServerTimes(each: ProbeServerTimes[]): ServerTimesSummary {
  const of = (f: (p: ProbeServerTimes) => number): Spread => {
    const v = each.map(f);
    return { p50: quantile(v, 0.5), max: quantile(v, 1) };
  };
  return {
    probes: each.length,
    ownerMs: of((p) => p.ownerMs),
    fleetscanMs: of((p) => p.fleetscanMs),
    writeMs: of((p) => p.writeMs),
    totalMs: of((p) => p.totalMs),
    each,
  };
}

/** The parts, p50 / max: "Deployment → ReplicaSet 7 / 11 ms; …; in all 94 / 132 ms (20 probes)". */
export function serverTimesParts(s: ServerTimesSummary): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)}`);
  const pair = (x: Spread) => `${ms(x.p50)} / ${ms(x.max)} ms`;
  return `Deployment → ReplicaSet ${pair(s.ownerMs)}; ReplicaSet → last report's write arrives ${pair(s.fleetscanMs)}; that write in kube-apiserver ${pair(s.writeMs)}; in all ${pair(s.totalMs)} (${s.probes} probes)`;
}

/** The line said after a probe phase. */
export function describeServerTimes(s: ServerTimesSummary): string {
  return `kube-apiserver's clock (p50 / max): ${serverTimesParts(s)}`;
}

function parse(line: string): AuditEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line) as AuditEvent;
  } catch {
    return undefined; // a line cut short by a crash: the others still count
  }
}
