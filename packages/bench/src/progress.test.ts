import { describe, expect, it } from 'vitest';
import { progressLine } from './progress.ts';
import { parsePrometheus } from './prom.ts';

describe('progressLine', () => {
  it('shows time, creations, owners, requests, trivy runs, reports and finished workloads', () => {
    const line = progressLine({
      elapsedMs: 12_345,
      owners: 40,
      counts: { created: 40, ownersSeen: 38, reports: 70, expectedReports: 88, done: 30, workloads: 40 },
      watcher: parsePrometheus(
        'fleetscan_watcher_requests_total{type="image",outcome="published"} 4\n' +
          'fleetscan_watcher_requests_total{type="config",outcome="published"} 38\n',
      ),
      scanners: parsePrometheus(
        'fleetscan_scanner_trivy_runs_total{type="image"} 4\nfleetscan_scanner_trivy_runs_total{type="config"} 2\n',
      ),
    });
    expect(line).toBe(
      '  12 s · created 40/40 · owners 38 · requests img 4 cfg 38 · trivy img 4 cfg 2 · reports 70/88 · done 30/40',
    );
  });
});
