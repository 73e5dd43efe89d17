import { describe, expect, it } from 'vitest';
import { nextDbVersion, refreshProgress, workBetween } from './load-figures.ts';
import { parsePrometheus } from './prom.ts';

describe('a DB update', () => {
  it('counts reports on a version other than the old ones as refreshed', () => {
    const byDb = new Map([
      ['2026-11-01T00:00:00Z', 30],
      ['2026-12-02T00:00:00Z', 70],
    ]);
    expect(refreshProgress(byDb, new Set(['2026-11-01T00:00:00Z']))).toEqual({ refreshed: 70, left: 30 });
  });

  it('moves the version forward: now, or a day after the old one when that is later', () => {
    const now = Date.parse('2026-12-02T12:00:00.123Z');
    expect(nextDbVersion('2026-11-01T00:00:00Z', now)).toBe('2026-12-02T12:00:00Z');
    expect(nextDbVersion('2027-01-01T00:00:00Z', now)).toBe('2027-01-02T00:00:00Z');
    expect(nextDbVersion(undefined, now)).toBe('2026-12-02T12:00:00Z');
  });

  it("reads the services' work between two scrapes", () => {
    const before = parsePrometheus(`
fleetscan_writer_reports_total{outcome="written"} 100
fleetscan_writer_reports_total{outcome="unchanged"} 5
fleetscan_scanner_trivy_runs_total{type="image"} 20
fleetscan_watcher_requests_total{type="image",outcome="published"} 40
`);
    const after = parsePrometheus(`
fleetscan_writer_reports_total{outcome="written"} 250
fleetscan_writer_reports_total{outcome="unchanged"} 9
fleetscan_writer_reports_total{kind="VulnerabilityReport",outcome="written"} 30
fleetscan_writer_reports_total{kind="SbomReport",outcome="written"} 4
fleetscan_scanner_trivy_runs_total{type="image"} 20
fleetscan_scanner_trivy_runs_total{type="sbom"} 20
fleetscan_scanner_trivy_runs_total{type="config"} 1
fleetscan_watcher_requests_total{type="image",outcome="published"} 90
fleetscan_watcher_requests_total{type="image",outcome="pending"} 7
fleetscan_writer_results_total{type="image",outcome="late_owner"} 2
`);
    expect(workBetween(before, after)).toEqual({
      writes: 180,
      otherKindWrites: 4,
      trivyRuns: { image: 0, sbom: 20, config: 1 },
      published: { image: 50, config: 0 },
      lateOwners: 2,
    });
  });
});
