import { describe, expect, it } from 'vitest';
import { histogramQuantile, parsePrometheus, sumOf } from './prom.ts';

const text = `# HELP fleetscan_scanner_trivy_runs_total trivy processes started
# TYPE fleetscan_scanner_trivy_runs_total counter
fleetscan_scanner_trivy_runs_total{type="image"} 20
fleetscan_scanner_trivy_runs_total{type="config"} 3
fleetscan_watcher_publish_ack_seconds_bucket{le="0.001"} 50
fleetscan_watcher_publish_ack_seconds_bucket{le="0.01"} 90
fleetscan_watcher_publish_ack_seconds_bucket{le="0.1"} 100
fleetscan_watcher_publish_ack_seconds_bucket{le="+Inf"} 100
fleetscan_watcher_publish_ack_seconds_sum 0.5
fleetscan_watcher_publish_ack_seconds_count 100
trivy_image_vulnerabilities{name="a \\"quoted\\" name",severity="High"} 2
`;

describe('Prometheus text', () => {
  const samples = parsePrometheus(text);

  it('sums counters by label', () => {
    expect(sumOf(samples, 'fleetscan_scanner_trivy_runs_total', { type: 'image' })).toBe(20);
    expect(sumOf(samples, 'fleetscan_scanner_trivy_runs_total')).toBe(23);
    expect(sumOf(samples, 'trivy_image_vulnerabilities', { severity: 'High' })).toBe(2);
  });

  it('interpolates histogram quantiles like histogram_quantile', () => {
    expect(histogramQuantile(samples, 'fleetscan_watcher_publish_ack_seconds', 0.5)).toBeCloseTo(0.001);
    // rank 99 lies in (0.01, 0.1], 9 of its 10 observations in: 0.01 + 0.09 × 0.9.
    expect(histogramQuantile(samples, 'fleetscan_watcher_publish_ack_seconds', 0.99)).toBeCloseTo(0.091);
    expect(histogramQuantile([], 'x', 0.5)).toBeUndefined();
  });
});
