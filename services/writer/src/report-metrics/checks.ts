import type { CheckDetail } from '@fleetscan/inventory';
import type { OwnerReportKind } from '@fleetscan/reports';
import type { InfoOption, ReportFamily } from './family.ts';
import { type FamilyReports, findingInfoFamily, severityCountFamily } from './family-shapes.ts';
import { severityLabel } from './labels.ts';
import {
  REPORT_LABELS,
  type ReportSource,
  reportLabelValues,
  reportsOf,
  SEVERITY_COUNTS_NO_UNKNOWN,
} from './source.ts';

/**
 * What sets one kind of checks report (a config audit, an RBAC or an infra assessment) apart in
 * collector.go: its count family's name and help, and its info family's name, help, option and
 * label prefix (`config_audit` gives config_audit_id, config_audit_title, …).
 */
export interface ChecksFamilies {
  readonly kind: OwnerReportKind;
  readonly count: { readonly name: string; readonly help: string };
  readonly info: {
    readonly name: string;
    readonly help: string;
    readonly option: InfoOption;
    readonly labelPrefix: string;
  };
}

/** A check's labels after the prefix, as collector.go spells them. */
const CHECK_LABELS: readonly (readonly [suffix: string, value: (c: CheckDetail) => string])[] = [
  ['id', (c) => c.checkID],
  ['title', (c) => c.title],
  ['description', (c) => c.description],
  ['category', (c) => c.category],
  ['success', (c) => String(c.success)],
];

/** A checks report kind's count family and its opt-in info family, one series per check. */
export function checksFamilies(source: ReportSource, spec: ChecksFamilies): [ReportFamily, ReportFamily] {
  const reports: FamilyReports = {
    reports: () => reportsOf(source, spec.kind),
    labelNames: REPORT_LABELS,
    values: reportLabelValues,
  };
  return [
    severityCountFamily({ ...reports, ...spec.count, severities: SEVERITY_COUNTS_NO_UNKNOWN }),
    findingInfoFamily({
      ...reports,
      name: spec.info.name,
      help: spec.info.help,
      info: spec.info.option,
      findings: (r) => r.detail?.checks,
      findingLabels: [
        ...CHECK_LABELS.map(([suffix, value]) => [`${spec.info.labelPrefix}_${suffix}`, value] as const),
        ['severity', (c) => severityLabel(c.severity)],
      ],
      distinct: true,
    }),
  ];
}
