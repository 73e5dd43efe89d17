import { describe, expect, it } from 'vitest';
import { createServiceRegistry } from './metrics-registry.ts';

describe('createServiceRegistry', () => {
  it("serves prom-client's process and Node.js metrics", async () => {
    const text = await createServiceRegistry().metrics();
    for (const m of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(text).toMatch(new RegExp(`^${m} \\d`, 'm'));
  });

  it('gives each instance its own registry (several services in one process)', async () => {
    const a = createServiceRegistry();
    const b = createServiceRegistry();
    expect(a).not.toBe(b);
    expect(await b.metrics()).toContain('process_resident_memory_bytes');
  });
});
