import type { Registry } from 'prom-client';
import { isFamilyMetric } from './family.ts';

/**
 * The labels registry.setDefaultLabels gave every series (e.g. the writer's cluster). prom-client
 * 15 keeps them in a field it has no getter for; the chunks-versus-registry.metrics() test fails if
 * that changes.
 */
function defaultLabelsOf(registry: Registry): Readonly<Record<string, string>> {
  const labels = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels;
  return labels && typeof labels === 'object' ? (labels as Record<string, string>) : {};
}

/**
 * The writer's /metrics in chunks, in registration order: report families as they collect
 * (family.ts), every other metric as prom-client writes it. The whole text never needs to exist at
 * once, which matters when the info families are on.
 */
export async function* renderMetrics(registry: Registry): AsyncGenerator<string> {
  const defaults = defaultLabelsOf(registry);
  for (const m of registry.getMetricsAsArray()) {
    if (isFamilyMetric(m)) yield* m.chunks(defaults);
    else yield `${await registry.getSingleMetricAsString(m.name)}\n`;
  }
}
