import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@fleetscan/stack';

export const SERVICES = ['watcher', 'writer', 'scanner'] as const;

/** Metric names the services define, read from their metrics.ts (the one place they are spelt). */
export function definedMetrics(): Set<string> {
  const out = new Set<string>();
  for (const s of SERVICES) {
    const text = readFileSync(join(repoRoot, 'services', s, 'src', 'metrics.ts'), 'utf8');
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
