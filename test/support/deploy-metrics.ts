import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@fleetscan/stack';

export const SERVICES = ['watcher', 'writer', 'scanner', 'fleetview'] as const;

/**
 * Files where metrics shared by several services are spelt (registered by each service that uses
 * them, on its own registry).
 */
const SHARED_METRICS = [join('packages', 'bus', 'src', 'consume-metrics.ts')];

/** The writer's trivy-operator families, one file per report kind. */
const REPORT_METRICS_DIR = join('services', 'writer', 'src', 'report-metrics');
const reportMetricFiles = () =>
  readdirSync(join(repoRoot, REPORT_METRICS_DIR))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(REPORT_METRICS_DIR, f));

/**
 * Metric names the services define, read from their metrics.ts and the shared ones (where they are spelt).
 * prom-client's default process_* and nodejs_* metrics (createServiceRegistry) are exempt on purpose:
 * they are the same for every Node program, standard dashboards (Grafana's Node.js ones) chart them,
 * and fleetscan's dashboard keeps to what only fleetscan can say.
 */
export function definedMetrics(): Set<string> {
  const out = new Set<string>();
  const files = [
    ...SERVICES.map((s) => join('services', s, 'src', 'metrics.ts')),
    ...SHARED_METRICS,
    ...reportMetricFiles(),
  ];
  for (const f of files) {
    const text = readFileSync(join(repoRoot, f), 'utf8');
    for (const m of text.matchAll(/name: '((?:fleetscan|trivy)_\w+)'/g)) if (m[1]) out.add(m[1]);
  }
  return out;
}

/** fleetscan_* and trivy_* metrics a PromQL expression reads, histogram series folded into their metric. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:fleetscan|trivy)_\w+)/g)].map((m) =>
    (m[1] ?? '').replace(/_(bucket|sum|count)$/, ''),
  );
}
