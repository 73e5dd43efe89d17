import { describe, expect, it } from 'vitest';
import { cpuFigures, passFigures } from './pass-figures.ts';
import type { ProcCpu } from './proc.ts';
import { parsePrometheus } from './prom.ts';

const cpu = (own: number, children = 0): ProcCpu => ({
  user: own,
  system: 0,
  childUser: children,
  childSystem: 0,
});

describe('cpuFigures', () => {
  const stack = [
    { name: 'kube-apiserver', pid: 10 },
    { name: 'registry', pid: 11 },
    { name: 'registry', pid: 12 },
  ];
  const procs = [
    { service: 'watcher', key: 'watcher#2' },
    { service: 'writer', key: 'writer#2' },
    { service: 'scanner-0', key: 'scanner-0#1' },
    { service: 'scanner-1', key: 'scanner-1#1' },
  ];

  it('counts each process from the pass start, trivy as the scanners’ children, registries as one', () => {
    const before = new Map([
      ['scanner-0#1', cpu(5, 40)],
      ['scanner-1#1', cpu(1, 10)],
      ['stack:10', cpu(100)],
      ['stack:11', cpu(1)],
      ['stack:12', cpu(2)],
      ['bench', cpu(3)],
    ]);
    const after = new Map([
      // Started during the pass: counted from zero.
      ['watcher#2', cpu(2)],
      ['writer#2', cpu(4)],
      ['scanner-0#1', cpu(6, 45)],
      ['scanner-1#1', cpu(3, 10)],
      ['stack:10', cpu(130)],
      ['stack:11', cpu(2)],
      ['stack:12', cpu(4)],
      ['bench', cpu(5)],
    ]);
    expect(cpuFigures({ before, after, procs, stack })).toEqual({
      watcherSec: 2,
      writerSec: 4,
      scannerSec: 3,
      trivySec: 5,
      stackSec: 33,
      stackByProcess: { 'kube-apiserver': 30, registry: 3 },
      benchSec: 2,
    });
  });

  it('counts nothing for a process it has no end reading of', () => {
    const figures = cpuFigures({ before: new Map(), after: new Map(), procs, stack });
    expect(figures.watcherSec + figures.scannerSec + figures.stackSec + figures.benchSec).toBe(0);
  });
});

describe('passFigures', () => {
  const samples = parsePrometheus(`
fleetscan_scanner_trivy_runs_total{type="image"} 20
fleetscan_scanner_trivy_runs_total{type="config"} 9
fleetscan_writer_reports_total{outcome="written"} 2200
fleetscan_writer_reports_total{outcome="unchanged"} 723
fleetscan_watcher_requests_total{type="image",outcome="published"} 764
fleetscan_watcher_requests_total{type="image",outcome="shared"} 50
fleetscan_watcher_requests_total{type="config",outcome="published"} 1000
`);
  const noCpu = cpuFigures({ before: new Map(), after: new Map(), procs: [], stack: [] });

  it('derives runs, writes per report, outcomes, requests and peak RSS per service', () => {
    const f = passFigures({
      reports: 2200,
      samples,
      scannersBefore: [],
      cpu: noCpu,
      peakRss: [
        { service: 'watcher', key: 'watcher#1', bytes: 100 },
        { service: 'writer', key: 'writer#1', bytes: 200 },
        { service: 'scanner-0', key: 'scanner-0#1', bytes: 300 },
        { service: 'scanner-1', key: 'scanner-1#1', bytes: 400 },
      ],
    });
    expect(f).toEqual({
      reports: 2200,
      writes: 2200,
      writesPerReport: 1,
      writerOutcomes: { written: 2200, unchanged: 723 },
      trivyImageRuns: 20,
      trivyConfigRuns: 9,
      requestsPublished: { image: 764, config: 1000 },
      cpu: noCpu,
      peakRss: { watcher: 100, writer: 200, scanners: 400 },
    });
  });

  it('counts the reports of new workloads created during the pass (probes) as writes’ reports too', () => {
    const f = passFigures({
      reports: 2160,
      probeReports: 40,
      samples,
      scannersBefore: [],
      cpu: noCpu,
      peakRss: [],
    });
    expect(f).toMatchObject({ reports: 2160, probeReports: 40, writes: 2200, writesPerReport: 1 });
  });

  it('keeps writes of the cluster’s own audited objects (ClusterRoles…) apart from the fleet’s', () => {
    const f = passFigures({
      reports: 2200,
      samples: parsePrometheus(`
fleetscan_writer_reports_total{kind="VulnerabilityReport",outcome="written"} 1200
fleetscan_writer_reports_total{kind="ConfigAuditReport",outcome="written"} 1000
fleetscan_writer_reports_total{kind="ClusterRbacAssessmentReport",outcome="written"} 69
fleetscan_writer_reports_total{kind="RbacAssessmentReport",outcome="unchanged"} 3
`),
      scannersBefore: [],
      cpu: noCpu,
      peakRss: [],
    });
    expect(f).toMatchObject({ writes: 2200, otherKindWrites: 69, writesPerReport: 1 });
    expect(f.writerOutcomes).toEqual({ written: 2200 });
  });

  it('subtracts what kept scanners had run before the pass, and has no writes per report without reports', () => {
    const f = passFigures({ reports: 0, samples, scannersBefore: samples, cpu: noCpu, peakRss: [] });
    expect(f.trivyImageRuns).toBe(0);
    expect(f.trivyConfigRuns).toBe(0);
    expect(f.writesPerReport).toBe(0);
    expect(f.peakRss).toEqual({ watcher: 0, writer: 0, scanners: 0 });
  });
});
