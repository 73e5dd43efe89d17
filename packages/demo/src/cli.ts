#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startStack } from '@fleetscan/stack';
import { runScenario, saveReports } from './scenario.ts';
import {
  type ServiceProcess,
  startFleetviewProcess,
  startServiceProcesses,
  waitServicesReady,
} from './services.ts';
import { formatReports } from './show.ts';

/** Also printed by .ci/demo itself, before the setup it would otherwise run first. */
const HELP = readFileSync(join(repoRoot, 'packages', 'demo', 'usage.txt'), 'utf8');

/** A CVE the naive Deployment's nginx image carries in the stack's trivy DB fixture (curl). */
const FLEET_DEMO_CVE = 'CVE-2021-22945';

/** Waits until the fleet view lists the demo's CVE in every cluster; returns where (cluster/namespace/name). */
async function waitFleetview(url: string, clusters: readonly string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await fetch(`${url}v1/vulnerabilities/${FLEET_DEMO_CVE}/workloads?limit=500`).then(
      (r) =>
        r.ok
          ? (r.json() as Promise<{ items: { cluster: string; namespace: string; name: string }[] }>)
          : undefined,
      () => undefined,
    );
    const where = [...new Set((body?.items ?? []).map((i) => `${i.cluster}/${i.namespace}/${i.name}`))];
    if (clusters.every((c) => where.some((w) => w.startsWith(`${c}/`)))) return where;
    if (Date.now() > deadline)
      throw new Error(`the fleet view did not list ${FLEET_DEMO_CVE} in every cluster in time`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean', default: false },
      scanners: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '180' },
      cluster: { type: 'string', default: 'local' },
      fleet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const scanners = Number(values.scanners);
  const timeoutSec = Number(values.timeout);
  if (!Number.isInteger(scanners) || scanners < 1) throw new Error('--scanners must be a positive integer');
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
    throw new Error('--timeout must be a positive number of seconds');

  const say = (m: string) => process.stderr.write(`[demo] ${m}\n`);
  const t0 = Date.now();
  // Outside the stack's directory, which `stack:up`, `stack:down` and every stop remove: the
  // reports and the services' logs outlive the run (the next demo replaces them).
  const out = join(repoRoot, '.demo');
  const logDir = join(out, 'logs');
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  const clusters = values.fleet ? ['a', 'b'] : [values.cluster];
  const stack = await startStack({ onProgress: (m) => say(m), ...(values.fleet && { clusters }) });
  const services: ServiceProcess[] = [];
  for (const [i, cluster] of clusters.entries()) {
    services.push(
      ...(await startServiceProcesses(stack, {
        cluster,
        scanners: i === 0 ? scanners : 0,
        logDir,
        ...(values.fleet && { prefix: `${cluster}-` }),
      })),
    );
  }
  const fleetview = values.fleet ? await startFleetviewProcess(stack) : undefined;
  if (fleetview) services.push(fleetview);
  let failed = false;
  const stopAll = async () => {
    await Promise.all(services.map((s) => s.process.stop()));
    // Keep the stack's own logs of a failed run where the error message says they are.
    await stack.stop({ keepDir: failed });
    say(`service logs kept in ${logDir}`);
  };
  try {
    say(
      `stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; starting watcher, writer and ${scanners} scanner(s)`,
    );
    await waitServicesReady(services);
    say('services ready; applying Deployment default/naive');
    const t1 = Date.now();
    const perCluster = await Promise.all(
      clusters.map((c) =>
        runScenario(
          values.fleet ? stack.kubeConfigOf(c) : stack.kubeConfig(),
          stack.registry.host,
          timeoutSec * 1000,
        ),
      ),
    );
    say(`reports written ${((Date.now() - t1) / 1000).toFixed(1)} s after the Deployment was applied`);
    // The clusters' reports have the same names: each cluster's go to a folder of its own.
    const dirs = await Promise.all(
      perCluster.map((reports, i) =>
        saveReports(
          values.fleet ? join(out, 'reports', clusters[i] as string) : join(out, 'reports'),
          reports,
        ),
      ),
    );
    process.stdout.write(`\n${formatReports(perCluster.flat())}\nYAML: ${dirs.join(', ')}\n`);
    if (fleetview) {
      const where = await waitFleetview(fleetview.url, clusters, timeoutSec * 1000);
      process.stdout.write(
        `\nfleet view: ${fleetview.url}\n  ${FLEET_DEMO_CVE} runs in ${where.join(', ')} (${fleetview.url}v1/vulnerabilities/${FLEET_DEMO_CVE}/workloads)\n`,
      );
    }
    if (values.once) return 0;
    process.stdout.write(
      [
        '',
        'fleetscan is running. Explore with:',
        ...(fleetview
          ? [
              `  fleet view: ${fleetview.url}   (search ${FLEET_DEMO_CVE}; API under ${fleetview.url}v1/)`,
              ...stack.clusters.map((c) => `  cluster ${c.name}: export KUBECONFIG=${c.kubeconfigPath}`),
            ]
          : [`  export KUBECONFIG=${stack.kubeconfigPath}`]),
        '  kubectl get vulnerabilityreports,configauditreports -A   (if you have kubectl)',
        `Images for your own manifests come from the stack's registry (the cluster has no other):`,
        `  registry ${stack.registry.host}, e.g. image: ${stack.registry.host}/library/nginx:1.20`,
        ...stack.images.map((i) => `  ${i.ref}`),
        'Services (metrics, log):',
        ...services.map((s) => `  ${s.name.padEnd(10)} ${s.metricsUrl}/metrics   log ${s.process.logFile}`),
        'Press Ctrl-C to stop and clean up.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    say('stopping');
    return 0;
  } catch (err) {
    failed = true;
    for (const s of services) say(`${s.name} log: ${s.process.logFile}`);
    throw err;
  } finally {
    await stopAll();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fleetscan-demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
