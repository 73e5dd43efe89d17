#!/usr/bin/env node
/**
 * The writer's memory and scrape time against a fleet that is already in place (`npm run bench --
 * --hold` keeps one up): starts one writer (`node <flags> <main.ts>`, as the images run it), waits
 * for /readyz, lets it settle, reads its RSS, scrapes /metrics as Prometheus would (timing each
 * scrape and counting bytes and series), reads its RSS again and stops it. Run it once per writer
 * build or setting to compare; nothing else writes meanwhile.
 *
 *   node packages/bench/src/writer-metrics-cli.ts --kubeconfig K --nats URL [--cluster bench]
 *     [--main services/writer/src/main.ts] [--scrapes 5] [--settle 10] [--env KEY=VALUE]...
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_NODE_FLAGS } from '@fleetscan/demo';
import { freePort, repoRoot, startProcess } from '@fleetscan/stack';
import { readCpu, readMemory } from './proc.ts';

const { values: a } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    nats: { type: 'string' },
    cluster: { type: 'string', default: 'bench' },
    main: { type: 'string', default: join(repoRoot, 'services', 'writer', 'src', 'main.ts') },
    scrapes: { type: 'string', default: '5' },
    settle: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '600' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
if (!a.kubeconfig || !a.nats) throw new Error('--kubeconfig and --nats are required (see --hold)');

const mb = (b: number) => Math.round(b / 2 ** 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = await mkdtemp(join(tmpdir(), 'fleetscan-writer-metrics-'));
const port = await freePort();
const extra = Object.fromEntries(
  (a.env ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]),
);
const proc = startProcess({
  name: 'writer',
  command: process.execPath,
  args: [...SERVICE_NODE_FLAGS.writer, resolve(a.main)],
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    CLUSTER_NAME: a.cluster,
    KUBECONFIG: a.kubeconfig,
    NATS_URL: a.nats,
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(port),
    LOG_LEVEL: 'warn',
    ...extra,
  },
  logFile: join(dir, 'writer.log'),
  dieWithParent: true,
});
const url = `http://127.0.0.1:${port}`;
try {
  const started = performance.now();
  const deadline = Date.now() + Number(a.timeout) * 1000;
  while (
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`writer not ready:\n${await proc.tail(20)}`);
    await sleep(250);
  }
  const readySeconds = (performance.now() - started) / 1000;
  await sleep(Number(a.settle) * 1000);
  const atReady = readMemory(proc.pid);
  const cpuBefore = readCpu(proc.pid);
  const scrapes: { ms: number; bytes: number; series: number }[] = [];
  let families: Record<string, number> = {};
  for (let i = 0; i < Number(a.scrapes); i++) {
    const t = performance.now();
    const res = await fetch(`${url}/metrics`);
    const text = await res.text();
    const ms = performance.now() - t;
    const lines = text.split('\n');
    families = {};
    for (const l of lines) {
      const m = /^fleetscan_writer_report_metric_series\{family="(\w+)".*\} (\d+)/.exec(l);
      if (m?.[1]) families[m[1]] = Number(m[2]);
    }
    scrapes.push({
      ms: Math.round(ms),
      bytes: Buffer.byteLength(text),
      series: lines.filter((l) => l.startsWith('trivy_')).length,
    });
    await sleep(1000);
  }
  const cpuAfter = readCpu(proc.pid);
  const after = readMemory(proc.pid);
  const ms = scrapes.map((s) => s.ms).sort((x, y) => x - y);
  console.log(
    JSON.stringify(
      {
        main: a.main,
        env: extra,
        readySeconds: +readySeconds.toFixed(1),
        rssAtReadyMB: atReady ? mb(atReady.rss) : undefined,
        peakRssAtReadyMB: atReady ? mb(atReady.hwm) : undefined,
        scrape: {
          medianMs: ms[Math.floor(ms.length / 2)],
          maxMs: ms.at(-1),
          bytes: scrapes.at(-1)?.bytes,
          trivySeries: scrapes.at(-1)?.series,
          families,
          cpuSecondsPerScrape:
            cpuBefore && cpuAfter
              ? +(
                  (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) /
                  scrapes.length
                ).toFixed(2)
              : undefined,
        },
        rssAfterScrapesMB: after ? mb(after.rss) : undefined,
        peakRssMB: after ? mb(after.hwm) : undefined,
      },
      null,
      2,
    ),
  );
} finally {
  await proc.stop();
  await rm(dir, { recursive: true, force: true });
}
