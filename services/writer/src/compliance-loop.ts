import { isKubeError, KubeErrorCode } from '@fleetscan/kube';
import {
  type ClusterComplianceReport,
  ClusterComplianceReportSchema,
  complianceStatus,
  createFailureIndex,
  indexFailures,
  nextCronTime,
  parseCron,
  specCheckIds,
} from '@fleetscan/reports';
import { backoff, type Clock, type Logger, type Timers } from '@fleetscan/service';
import type { ComplianceIo, ComplianceObject } from './compliance-io.ts';
import type { ComplianceMetrics } from './metrics-compliance.ts';

/**
 * ClusterComplianceReports, kept current as trivy-operator keeps them
 * (pkg/compliance/clustercompliancereport.go): a report is due when the first firing of its
 * spec.cron after its last update (status.updateTimestamp, or its creation if later) has passed;
 * a due report's status is computed from the cluster's audit reports and written through the
 * status subresource; otherwise it waits for that firing. So a new report gets its first status at
 * the first firing after it was created, not at once, as upstream.
 *
 * Each pass lists the ClusterComplianceReports (a handful of objects), and, only when one is due,
 * every audit report once for all the due ones (streamed page by page; only failures of the specs'
 * checks are kept). The next pass is at the earliest due time, and at least every `checkIntervalMs`
 * so that new and edited reports are seen (upstream watches them; their status waits for the cron
 * anyway). A failed pass is tried again with backoff; a conflicting write (the object changed
 * meanwhile) in the next pass, on the object as it is then.
 */
export interface ComplianceLoopDeps {
  io: ComplianceIo;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  metrics: ComplianceMetrics;
  /** trivy-operator's compliance.failEntriesLimit: failures kept per control in a detail report. */
  failEntriesLimit: number;
  checkIntervalMs: number;
}

export interface ComplianceLoop {
  start(): void;
  stop(): Promise<void>;
  /** The reports as last listed and written: what trivy_cluster_compliance shows. */
  reports(): readonly ClusterComplianceReport[];
  /** Runs one pass now (tests); resolves when it is done. */
  runOnce(): Promise<void>;
}

/** When a report is due: the first firing of its cron after its last update (ms), or an error. */
export function dueAt(r: ClusterComplianceReport & { metadata: { creationTimestamp?: unknown } }): number {
  const updated = Date.parse(r.status?.updateTimestamp ?? '');
  const created = Date.parse(String(r.metadata.creationTimestamp ?? ''));
  const last = Math.max(Number.isFinite(updated) ? updated : 0, Number.isFinite(created) ? created : 0);
  return nextCronTime(parseCron(r.spec.cron), last);
}

export function createComplianceLoop(d: ComplianceLoopDeps): ComplianceLoop {
  const abort = new AbortController();
  let current: ClusterComplianceReport[] = [];
  let failures = 0;
  let cancelTimer: (() => void) | undefined;
  let running: Promise<void> | undefined;
  /** Objects already logged as invalid, by name and resourceVersion: logged once each. */
  const invalidSeen = new Set<string>();
  let crdMissingLogged = false;

  const schedule = (ms: number) => {
    cancelTimer?.();
    if (abort.signal.aborted) return;
    cancelTimer = d.timers.after(Math.max(0, ms), () => {
      running = pass().finally(() => {
        running = undefined;
      });
    });
  };

  async function pass(): Promise<void> {
    let nextMs = d.checkIntervalMs;
    try {
      nextMs = await evaluate();
      failures = 0;
    } catch (err) {
      if (abort.signal.aborted) return;
      d.metrics.runs.inc({ outcome: 'failed' });
      nextMs = backoff(failures++, 1000, d.checkIntervalMs);
      d.logger.warn({ err, retryInMs: nextMs }, 'compliance: pass failed');
    }
    schedule(nextMs);
  }

  /** One pass; returns when the next one should run (ms from now). */
  async function evaluate(): Promise<number> {
    let objects: ComplianceObject[];
    try {
      objects = await d.io.listSpecs(abort.signal);
      crdMissingLogged = false;
    } catch (err) {
      // No CRD (the chart's crds.install off and none installed): nothing to keep current.
      if (!isKubeError(err, KubeErrorCode.NotFound)) throw err;
      if (!crdMissingLogged) d.logger.info('compliance: no ClusterComplianceReport CRD in the cluster');
      crdMissingLogged = true;
      objects = [];
    }
    const now = d.clock.now().getTime();
    const valid: { obj: ComplianceObject; report: ClusterComplianceReport; due: number }[] = [];
    for (const obj of objects) {
      const parsed = ClusterComplianceReportSchema.safeParse(obj);
      const key = `${obj.metadata?.name}@${obj.metadata?.resourceVersion}`;
      try {
        if (!parsed.success) throw parsed.error;
        const report = parsed.data as ClusterComplianceReport & { metadata: { creationTimestamp?: unknown } };
        valid.push({ obj, report, due: dueAt(report) });
      } catch (err) {
        if (!invalidSeen.has(key)) {
          invalidSeen.add(key);
          d.metrics.runs.inc({ outcome: 'invalid' });
          d.logger.warn(
            { name: obj.metadata?.name, err: String(err).slice(0, 500) },
            'compliance: report skipped',
          );
        }
      }
    }
    if (invalidSeen.size > 1000) invalidSeen.clear();
    current = valid.map((v) => v.report);
    const due = valid.filter((v) => v.due <= now);
    if (due.length > 0) {
      const index = createFailureIndex(d.failEntriesLimit);
      const wanted = specCheckIds(due.map((v) => v.report.spec));
      let reports = 0;
      await d.io.forEachReport((r) => {
        reports++;
        indexFailures(index, r, wanted);
      }, abort.signal);
      const at = d.clock.now();
      for (const v of due) {
        const { status, nodeControlsUnevaluated } = complianceStatus(v.report.spec, index, formatTime(at));
        try {
          await d.io.writeStatus(v.obj, status, abort.signal);
          v.report.status = status;
          v.due = nextCronTime(parseCron(v.report.spec.cron), at.getTime());
          d.metrics.runs.inc({ outcome: 'written' });
          d.metrics.nodeControlsUnevaluated.set(
            { name: v.report.metadata.name },
            nodeControlsUnevaluated.length,
          );
          d.logger.info(
            {
              name: v.report.metadata.name,
              reports,
              fail: status.summary?.failCount ?? 0,
              pass: status.summary?.passCount ?? 0,
              ...(nodeControlsUnevaluated.length > 0 && {
                nodeControlsUnevaluated: nodeControlsUnevaluated.length,
              }),
            },
            'compliance: status written',
          );
        } catch (err) {
          if (abort.signal.aborted) throw err;
          // Changed or deleted since listed: the next pass sees it as it is now.
          if (isKubeError(err, KubeErrorCode.Conflict) || isKubeError(err, KubeErrorCode.NotFound)) {
            d.metrics.runs.inc({ outcome: 'conflict' });
            v.due = now;
          } else throw err;
        }
      }
    }
    const earliest = Math.min(...valid.map((v) => v.due), now + d.checkIntervalMs);
    return Math.min(d.checkIntervalMs, Math.max(earliest - d.clock.now().getTime(), 1000));
  }

  return {
    start() {
      schedule(0);
    },
    async stop() {
      abort.abort();
      cancelTimer?.();
      await running?.catch(() => {});
    },
    reports: () => current,
    async runOnce() {
      await running;
      await pass();
    },
  };
}

/** metav1.Time's form: RFC 3339 in seconds. */
const formatTime = (t: Date) => `${t.toISOString().slice(0, 19)}Z`;
