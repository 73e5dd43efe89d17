import type { Registry } from 'prom-client';
import { isFamilyMetric } from './family.ts';

/** Prometheus text format: a label value escapes backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** Prometheus text format: HELP escapes backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * The writer's /metrics in chunks, in registration order: report families as they collect
 * (family.ts), every other metric as prom-client writes it. The whole text never needs to exist at
 * once, which matters when the info families are on.
 */
export async function* renderMetrics(registry: Registry): AsyncGenerator<string> {
  for (const m of registry.getMetricsAsArray()) {
    if (isFamilyMetric(m)) yield* m.chunks();
    else yield `${await registry.getSingleMetricAsString(m.name)}\n`;
  }
}
