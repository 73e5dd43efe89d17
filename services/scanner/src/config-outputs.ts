import type { ConfigAuditData, ConfigAuditSettings, Manifest, ScanError } from '@fleetscan/bus';
import type { Scanner } from '@fleetscan/reports';
import { type AuditOutcome, toConfigChecks } from '@fleetscan/trivy';
import { classifyFailure } from './failure.ts';

/** One request in a config audit batch: the manifest and how its cluster wants the checks reported. */
export interface AuditItem {
  manifest: Manifest;
  settings: ConfigAuditSettings;
  /** When its handler submitted it (ms), for the batch's log line: how long its oldest item waited. */
  submittedAtMs?: number;
  /** When the stream stored its request (ms): with submittedAtMs, where a slow audit waited. */
  storedAtMs?: number;
}

/** A manifest's audit: its report data, or why this manifest cannot be audited (a permanent error). */
export type AuditOutput = { data: ConfigAuditData } | { error: ScanError };

/**
 * Each item's output from the worker's outcomes (same order): a batch may hold requests of
 * several clusters, so each gets its checks with its own settings (ID format, severities).
 */
export function auditOutputs(
  items: readonly AuditItem[],
  outcomes: readonly AuditOutcome[],
  scanner: Scanner,
  scannedAt: string,
): AuditOutput[] {
  return items.map((item, i) => {
    const outcome = outcomes[i];
    if (!outcome)
      return { error: { code: 'FAILED', message: 'the audit gave no outcome', permanent: false } };
    if ('error' in outcome) return { error: classifyFailure(outcome.error) };
    return { data: { scanner, checks: toConfigChecks(outcome.findings, item.settings), scannedAt } };
  });
}
