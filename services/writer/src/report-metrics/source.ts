import type { ReportRef } from '@fleetscan/inventory';
import type { OwnerReportKind } from '@fleetscan/reports';

/** Where the families read reports from: the writer's inventory. */
export interface ReportSource {
  reportsOf(kind: OwnerReportKind): readonly ReportRef[];
}

/** Reports of a kind; none when the inventory cannot say (a scrape never fails on it). */
export function reportsOf(source: ReportSource, kind: OwnerReportKind): readonly ReportRef[] {
  try {
    return source.reportsOf(kind);
  } catch {
    return [];
  }
}

/** A summary count; anything but a finite number counts as 0. */
export function count(r: ReportRef, field: string): number {
  const v = r.summary?.[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** namespace, name, resource_kind, resource_name: every family's first four labels. */
export function reportLabelValues(r: ReportRef): string[] {
  return [r.namespace, r.name, r.resourceKind ?? '', r.resourceName ?? ''];
}

/** …, container_name, image_registry, image_repository, image_tag, image_digest: the image families'. */
export function imageLabelValues(r: ReportRef): string[] {
  return [
    ...reportLabelValues(r),
    r.container ?? '',
    r.artifact?.registry ?? '',
    r.artifact?.repository ?? '',
    r.artifact?.tag ?? '',
    r.artifact?.digest ?? '',
  ];
}

/** Label names of reportLabelValues and imageLabelValues, as collector.go spells them. */
export const REPORT_LABELS = ['namespace', 'name', 'resource_kind', 'resource_name'] as const;
export const IMAGE_LABELS = [
  ...REPORT_LABELS,
  'container_name',
  'image_registry',
  'image_repository',
  'image_tag',
  'image_digest',
] as const;

/**
 * Summary fields and their severity label, in trivy-operator's severity maps (collector.go); the
 * label as a series part (family.ts) that is the same array for every report.
 */
export const SEVERITY_COUNTS: readonly (readonly [field: string, severity: readonly [string]])[] = [
  ['criticalCount', ['Critical']],
  ['highCount', ['High']],
  ['mediumCount', ['Medium']],
  ['lowCount', ['Low']],
  ['unknownCount', ['Unknown']],
];
/** Exposed secrets, config audits (and RBAC and infra assessments) have no Unknown. */
export const SEVERITY_COUNTS_NO_UNKNOWN = SEVERITY_COUNTS.slice(0, 4);

/**
 * A finding's own label values, worked out once per finding: findings are shared by every report
 * of an image (report-detail.ts), so a scrape would otherwise spell the same values thousands of
 * times. `key` tells two findings that spell the same labels apart from two that do not.
 */
export function findingLabels<T extends object>(
  render: (finding: T) => string[],
): (finding: T) => { readonly values: readonly string[]; readonly key: string } {
  const cache = new WeakMap<T, { values: string[]; key: string }>();
  return (finding) => {
    let hit = cache.get(finding);
    if (!hit) {
      const values = render(finding);
      hit = { values, key: values.join('\u001f') };
      cache.set(finding, hit);
    }
    return hit;
  };
}
