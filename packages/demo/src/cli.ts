#!/usr/bin/env node
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

const HELP = `Usage: npm run demo -- [options]

The main job on the real local stack: starts etcd, kube-apiserver, kube-controller-manager,
NATS JetStream, the OCI registries and trivy's fixture DB; starts fleetscan's watcher, writer
and scanner as processes; applies the "naive" nginx Deployment to the default namespace; waits
for its ConfigAuditReport and VulnerabilityReport; prints them and saves them as YAML. Then it
keeps everything running (kubeconfig printed) until Ctrl-C, and cleans up.

Options:
  --once            exit after the reports are written (for scripts); exit code 0 on success
  --scanners N      scanner replicas to run (default 1)
  --timeout SEC     how long to wait for the reports (default 180)
  --cluster NAME    cluster name used in NATS subjects (default local)
  --fleet           two clusters (a and b) sharing the NATS and the scanners, the Deployment in both,
                    and the fleet view (services/fleetview): its URL is printed
  -h, --help        show this help
`;

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
  const clusters = values.fleet ? ['a', 'b'] : [values.cluster];
  const stack = await startStack({ onProgress: (m) => say(m), ...(values.fleet && { clusters }) });
  const services: ServiceProcess[] = [];
  for (const [i, cluster] of clusters.entries()) {
    services.push(
      ...(await startServiceProcesses(stack, {
        cluster,
        scanners: i === 0 ? scanners : 0,
        ...(values.fleet && { prefix: `${cluster}-` }),
      })),
    );
  }
  const fleetview = values.fleet ? await startFleetviewProcess(stack) : undefined;
  if (fleetview) services.push(fleetview);
  let failed = false;
  const stopAll = async () => {
    await Promise.all(services.map((s) => s.process.stop()));
    // Keep the logs of a failed run where the error message says they are.
    await stack.stop({ keepDir: failed });
  };
  try {
    say(
      `stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; starting watcher, writer and ${scanners} scanner(s)`,
    );
    await waitServicesReady(services);
    say('services ready; applying Deployment default/naive');
    const t1 = Date.now();
    const reports = (
      await Promise.all(
        clusters.map((c) =>
          runScenario(
            values.fleet ? stack.kubeConfigOf(c) : stack.kubeConfig(),
            stack.registry.host,
            timeoutSec * 1000,
          ),
        ),
      )
    ).flat();
    say(`reports written ${((Date.now() - t1) / 1000).toFixed(1)} s after the Deployment was applied`);
    // Outside the stack's directory, so the YAML outlives the run.
    const dir = await saveReports(join(repoRoot, '.stack', 'reports'), reports);
    process.stdout.write(`\n${formatReports(reports)}\nYAML: ${dir}\n`);
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
