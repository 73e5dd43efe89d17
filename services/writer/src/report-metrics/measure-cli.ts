#!/usr/bin/env node
/**
 * What the report metrics cost at a fleet's size with realistic findings, without a cluster: builds
 * the reports a writer would hold (OWNERS owners, a fifth with two containers, over IMAGES images of
 * VULNS vulnerabilities each drawn from a shared pool, and CHECKS failing checks per config audit),
 * projects each as the writer's inventory does (reportProjector, with or without the info metrics'
 * detail), then scrapes the families as /metrics does. Prints heap and RSS after the projection and
 * the scrape time, size and series. The benchmark's fleet has a handful of findings per image (its
 * fixture DB); this is the same code at the findings counts of real images.
 *
 *   node --expose-gc services/writer/src/report-metrics/measure-cli.ts [--info] [--owners N] [--images U]
 *     [--vulns V] [--checks C] [--scrapes S] [--max-series M]
 */
import { parseArgs } from 'node:util';
import { type ReportRef, reportDetailProjector, reportProjector } from '@fleetscan/inventory';
import { Registry } from 'prom-client';
import { registerReportMetrics, reportDetailFor } from '../metrics.ts';
import { renderMetrics } from './exposition.ts';

const { values: a } = parseArgs({
  options: {
    info: { type: 'boolean', default: false },
    owners: { type: 'string', default: '10000' },
    images: { type: 'string', default: '20' },
    vulns: { type: 'string', default: '300' },
    checks: { type: 'string', default: '15' },
    scrapes: { type: 'string', default: '5' },
    'max-series': { type: 'string', default: '100000' },
  },
});
const OWNERS = Number(a.owners);
const IMAGES = Number(a.images);
const VULNS = Number(a.vulns);
const CHECKS = Number(a.checks);
const SCRAPES = Number(a.scrapes);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
const text = (n: number, seed: string) => `${seed} `.repeat(Math.ceil(n / (seed.length + 1))).slice(0, n);

// A pool of vulnerabilities shared by the images (one distro: images share most of their packages).
const POOL = Math.max(VULNS * 3, 1);
const pool = Array.from({ length: POOL }, (_, i) => ({
  vulnerabilityID: `CVE-2024-${10000 + i}`,
  resource: `package-${i % 400}`,
  installedVersion: `1.${i % 17}.${i % 5}-1+deb12u1`,
  fixedVersion: i % 3 ? `1.${i % 17}.${(i % 5) + 1}-1+deb12u2` : '',
  publishedDate: '2024-03-05T16:15:00Z',
  lastModifiedDate: '2024-11-21T09:00:00Z',
  severity: SEVERITIES[i % 5],
  title: text(60, `package-${i % 400}: flaw ${i}`),
  description: text(400, 'A flaw was found'),
  primaryLink: `https://avd.aquasec.com/nvd/cve-2024-${10000 + i}`,
  links: [],
  score: (i % 100) / 10,
  target: '',
  class: 'os-pkgs',
  packageType: 'debian',
}));
const imageVulns = Array.from({ length: IMAGES }, (_, img) =>
  Array.from({ length: VULNS }, (_, j) => pool[(img * 7 + j) % POOL]),
);
const checkPool = Array.from({ length: 60 }, (_, i) => ({
  checkID: `KSV${String(i + 1).padStart(3, '0')}`,
  title: text(50, `check ${i}`),
  description: text(200, 'The workload should'),
  category: 'Kubernetes Security Check',
  severity: SEVERITIES[i % 4],
  success: false,
  messages: [text(120, 'Container should set')],
}));

const detailOptions = reportDetailFor({
  enabled: true,
  info: a.info
    ? { vulnerabilityId: true, imageInfo: true, exposedSecretInfo: true, configAuditInfo: true }
    : {},
  labelKeys: ['app'],
  labelNames: ['k8s_label_app'],
  maxInfoSeries: Number(a['max-series']),
});
const detail = reportDetailProjector(detailOptions);
const projectVuln = reportProjector('VulnerabilityReport', detail);
const projectAudit = reportProjector('ConfigAuditReport', detail);

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
gc();
const before = process.memoryUsage();
const started = performance.now();
const vulnReports: ReportRef[] = [];
const auditReports: ReportRef[] = [];
for (let o = 0; o < OWNERS; o++) {
  const ns = `ns-${Math.floor(o / 50)}`;
  const owner = `app-${o}-7d9f8c6b5`;
  const labels = {
    'trivy-operator.resource.kind': 'ReplicaSet',
    'trivy-operator.resource.name': owner,
    app: `app-${o}`,
  };
  const containers = o % 5 === 0 ? 2 : 1;
  for (let c = 0; c < containers; c++) {
    const img = (o + c) % IMAGES;
    const vulns = imageVulns[img] ?? [];
    // As JSON.parse gives it to the reflector: a fresh object per report.
    const obj = JSON.parse(
      JSON.stringify({
        metadata: {
          name: `replicaset-${owner}-c${c}`,
          namespace: ns,
          uid: `uid-${o}-${c}`,
          labels: { ...labels, 'trivy-operator.container.name': `c${c}` },
        },
        report: {
          updateTimestamp: '2026-11-26T10:00:00Z',
          registry: { server: 'registry.example.com' },
          artifact: {
            repository: `team/app-${img}`,
            tag: 'v1',
            digest: `sha256:${String(img).padStart(64, '0')}`,
          },
          os: { family: 'debian', name: '12.8' },
          summary: {
            criticalCount: 1,
            highCount: 1,
            mediumCount: 1,
            lowCount: 1,
            unknownCount: 1,
            noneCount: 0,
          },
          vulnerabilities: vulns,
        },
      }),
    );
    const ref = projectVuln(obj);
    if (ref) vulnReports.push(ref);
  }
  const audit = JSON.parse(
    JSON.stringify({
      metadata: { name: `replicaset-${owner}`, namespace: ns, uid: `uid-${o}`, labels },
      report: {
        updateTimestamp: '2026-11-26T10:00:00Z',
        summary: { criticalCount: 0, highCount: 4, mediumCount: 4, lowCount: 7 },
        checks: Array.from({ length: CHECKS }, (_, i) => checkPool[(o + i * 3) % checkPool.length]),
      },
    }),
  );
  const ref = projectAudit(audit);
  if (ref) auditReports.push(ref);
}
const projectMs = performance.now() - started;
gc();
const held = process.memoryUsage();

const registry = new Registry();
registerReportMetrics(
  registry,
  {
    reportsOf: (kind) =>
      kind === 'VulnerabilityReport' ? vulnReports : kind === 'ConfigAuditReport' ? auditReports : [],
  },
  {
    enabled: true,
    info: a.info
      ? {
          vulnerabilityId: true,
          imageInfo: true,
          exposedSecretInfo: true,
          configAuditInfo: true,
          rbacAssessmentInfo: true,
          infraAssessmentInfo: true,
        }
      : {},
    labelKeys: ['app'],
    labelNames: ['k8s_label_app'],
    maxInfoSeries: Number(a['max-series']),
  },
);
// As /metrics serves it: the chunks are written and dropped, never joined.
const times: number[] = [];
let bytes = 0;
let series: string[] = [];
for (let i = 0; i < SCRAPES; i++) {
  const t = performance.now();
  bytes = 0;
  series = [];
  for await (const chunk of renderMetrics(registry)) {
    bytes += Buffer.byteLength(chunk);
    if (chunk.includes('fleetscan_writer_report_metric_series{')) {
      series = chunk.split('\n').filter((l) => l.startsWith('fleetscan_writer_report_metric_series{'));
    }
  }
  times.push(performance.now() - t);
}
gc();
const after = process.memoryUsage();
times.sort((x, y) => x - y);

console.log(
  JSON.stringify(
    {
      options: { info: a.info, owners: OWNERS, images: IMAGES, vulnsPerImage: VULNS, checksPerAudit: CHECKS },
      reports: { vulnerability: vulnReports.length, configAudit: auditReports.length },
      projectSeconds: +(projectMs / 1000).toFixed(1),
      heapHeldByReports: mb(held.heapUsed - before.heapUsed),
      scrape: {
        medianMs: Math.round(times[Math.floor(times.length / 2)] ?? 0),
        maxMs: Math.round(times.at(-1) ?? 0),
        bytes: mb(bytes),
        series: Object.fromEntries(
          series.map((l) => [/family="(\w+)"/.exec(l)?.[1], Number(l.split(' ').at(-1))]),
        ),
      },
      heapAfterScrapes: mb(after.heapUsed),
      rssAfterScrapes: mb(after.rss),
      peakRss: mb(process.resourceUsage().maxRSS * 1024),
    },
    null,
    2,
  ),
);
