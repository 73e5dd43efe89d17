import { type Sample, sumOf } from './prom.ts';

/** The report kinds of the benchmark's workloads: what its watch counts. */
export const FLEET_REPORT_KINDS: ReadonlySet<string> = new Set(['VulnerabilityReport', 'ConfigAuditReport']);

/** Figures of a load phase that runs on services already up: pure functions of readings. */

/** How far a DB refresh got: reports on another version than the old ones, and reports still on an old one. */
export function refreshProgress(
  byDb: ReadonlyMap<string, number>,
  old: ReadonlySet<string>,
): { refreshed: number; left: number } {
  let refreshed = 0;
  let left = 0;
  for (const [db, n] of byDb) {
    if (old.has(db)) left += n;
    else refreshed += n;
  }
  return { refreshed, left };
}

export interface WorkCounters {
  /** Reports of the fleet's kinds (VulnerabilityReport, ConfigAuditReport) the writer wrote. */
  writes: number;
  /** Reports of other kinds written (ExposedSecretReports and SbomReports, the cluster's own objects'). */
  otherKindWrites: number;
  /** trivy runs by type: image (pull and analysis), sbom (re-match), config. */
  trivyRuns: { image: number; sbom: number; config: number };
  /** Requests the watcher published, by type. */
  published: { image: number; config: number };
  /** Image results the writer wrote for an owner it saw after their fan-out (late_owner). */
  lateOwners?: number;
}

/** What the services did between two readings of their /metrics (counters only grow). */
export function workBetween(before: readonly Sample[], after: readonly Sample[]): WorkCounters {
  const d = (name: string, labels: Record<string, string>) =>
    sumOf(after, name, labels) - sumOf(before, name, labels);
  const runs = (type: string) => d('fleetscan_scanner_trivy_runs_total', { type });
  const published = (type: string) => d('fleetscan_watcher_requests_total', { type, outcome: 'published' });
  const written = (samples: readonly Sample[], fleet: boolean) =>
    samples
      .filter(
        (s) =>
          s.name === 'fleetscan_writer_reports_total' &&
          s.labels.outcome === 'written' &&
          (s.labels.kind === undefined || FLEET_REPORT_KINDS.has(s.labels.kind)) === fleet,
      )
      .reduce((a, s) => a + s.value, 0);
  return {
    writes: written(after, true) - written(before, true),
    otherKindWrites: written(after, false) - written(before, false),
    trivyRuns: { image: runs('image'), sbom: runs('sbom'), config: runs('config') },
    published: { image: published('image'), config: published('config') },
    lateOwners: d('fleetscan_writer_results_total', { type: 'image', outcome: 'late_owner' }),
  };
}

/** A later DB version than `old` (an ISO time): now, or a day after `old` if that is later. */
export function nextDbVersion(old: string | undefined, nowMs: number): string {
  const prev = old ? Date.parse(old) : Number.NaN;
  const t = Number.isNaN(prev) ? nowMs : Math.max(nowMs, prev + 86_400_000);
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}
