import type { ReportRef } from '@fleetscan/inventory';
import type { InfoOption, ReportFamily } from './family.ts';
import { count, findingLabels, type SEVERITY_COUNTS } from './source.ts';

/**
 * The two shapes trivy-operator's families take (collector.go): a count family, one series per
 * report and severity, and an info family, one series (value 1) per finding of each report. A
 * report kind's file (vulnerability.ts, checks.ts, …) says which reports, labels and findings.
 */

/** Which reports a family reads, and the label values every series of one report starts with. */
export interface FamilyReports {
  readonly reports: () => readonly ReportRef[];
  /** The names of `values`' labels, in order. */
  readonly labelNames: readonly string[];
  readonly values: (r: ReportRef) => string[];
}

/** trivy-operator's summary family: the report's count of each severity, labelled `severity`. */
export function severityCountFamily(
  spec: FamilyReports & {
    readonly name: string;
    readonly help: string;
    readonly severities: typeof SEVERITY_COUNTS;
  },
): ReportFamily {
  return {
    name: spec.name,
    help: spec.help,
    labelNames: [...spec.labelNames, 'severity'],
    *series() {
      for (const r of spec.reports()) {
        const base = spec.values(r);
        for (const [field, severity] of spec.severities) {
          yield [[base, severity], count(r, field), r.detail?.labels];
        }
      }
    },
  };
}

/** A finding's label: its name and how a finding spells its value. */
export type FindingLabel<T> = readonly [name: string, value: (finding: T) => string];

/** trivy-operator's opt-in info family: a series per finding, its own labels after the report's. */
export function findingInfoFamily<T extends object>(
  spec: FamilyReports & {
    readonly name: string;
    readonly help: string;
    readonly info: InfoOption;
    readonly findings: (r: ReportRef) => readonly T[] | undefined;
    readonly findingLabels: readonly FindingLabel<T>[];
    /**
     * The findings of one report never spell the same labels (checks: one per ID, report-detail.ts),
     * so no set of what was served is kept. Otherwise a repeated label set is served once.
     */
    readonly distinct?: true;
  },
): ReportFamily {
  const labels = findingLabels((f: T) => spec.findingLabels.map(([, value]) => value(f)));
  return {
    name: spec.name,
    help: spec.help,
    labelNames: [...spec.labelNames, ...spec.findingLabels.map(([name]) => name)],
    info: spec.info,
    *series() {
      for (const r of spec.reports()) {
        const findings = spec.findings(r);
        if (!findings?.length) continue;
        const base = spec.values(r);
        const seen = spec.distinct ? undefined : new Set<string>();
        for (const f of findings) {
          const own = labels(f);
          if (seen) {
            if (seen.has(own.key)) continue;
            seen.add(own.key);
          }
          yield [[base, own.values], 1, r.detail?.labels];
        }
      }
    },
  };
}
