import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A service's metrics registry, with prom-client's default process_* and nodejs_* metrics (RSS,
 * CPU, heap, event-loop lag, GC, open handles): what an operator reads first when a replica grows or
 * stalls. One per service instance, so several services in one process (tests) each have theirs.
 */
export function createServiceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
