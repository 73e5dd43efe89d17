import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceProcess, startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { type KubeConnection, type KubeLogger, loadKubeConfig } from '@fleetscan/kube';
import { type Stack, startStack } from '@fleetscan/stack';
import { createFleet } from './create.ts';
import { waitDrained } from './drain.ts';
import { type FleetWorkload, planFleet } from './fleet.ts';
import { pushVariants } from './images.ts';
import { natsTraffic } from './nats-stats.ts';
import type { BenchOptions } from './options.ts';
import { scrape, sumOf } from './prom.ts';
import { createTracker, type Tracker } from './tracker.ts';

/** One run of the same fleet over `clusters` clusters that share one NATS and one scanner fleet. */
export interface ClusterPass {
  clusters: number;
  natsNodes: number;
  owners: number;
  reports: number;
  expectedReports: number;
  uniqueDigests: number;
  /** First workload created to the last report, across every cluster. */
  timeToAllReportsMs: number;
  trivyImageRuns: number;
  /** trivy image runs ÷ unique digests across the clusters (1.00: each digest analysed once). */
  amplification: number;
  /** Messages through NATS (every node's in + out) over the pass, and per report written. */
  natsMsgs: number;
  natsMsgsPerReport: number;
  /** Messages published into NATS (every node's in), per report. */
  natsInMsgsPerReport: number;
  /** Bytes in the clusters' results buckets (results too large for a message), and in the shared cache. */
  resultsBucketBytes: number;
  blobCacheBytes: number;
  timedOut: boolean;
}

export interface ClusterComparison {
  startedAt: string;
  options: BenchOptions;
  passes: ClusterPass[];
}

const now = () => performance.timeOrigin + performance.now();

/**
 * The same fleet of owners (same images, same namespaces) on one cluster, then split over
 * `opts.clusters` clusters — by namespace, round robin — each with its own watcher and writer and
 * NATS identities, all served by one scanner fleet. Each pass has a fresh stack.
 */
export async function runClusterComparison(
  opts: BenchOptions,
  io: { say(msg: string): void },
): Promise<ClusterComparison> {
  const out: ClusterComparison = { startedAt: new Date().toISOString(), options: opts, passes: [] };
  for (const k of [1, opts.clusters]) out.passes.push(await clusterPass(opts, k, io));
  return out;
}

async function clusterPass(
  opts: BenchOptions,
  k: number,
  io: { say(msg: string): void },
): Promise<ClusterPass> {
  const quiet: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };
  const run = `${Date.now().toString(36)}${k}`;
  io.say(`${k} cluster(s): starting the stack (${opts.natsNodes} NATS node(s))`);
  const stack: Stack = await startStack({
    clusters: k,
    natsNodes: opts.natsNodes,
    onProgress: (m) => io.say(`stack: ${m}`),
    ...(opts.kcmQps > 0 && { controllerManagerQps: opts.kcmQps }),
  });
  const services: ServiceProcess[] = [];
  const kubes: KubeConnection[] = [];
  const trackers: Tracker[] = [];
  try {
    const images = await pushVariants(stack.registry, opts.images);
    const fleet = planFleet({
      owners: opts.owners,
      images: images.map((i) => i.ref),
      containers: opts.containers,
      perNamespace: opts.perNamespace,
    });
    const namespaces = [...new Set(fleet.map((w) => w.namespace))];
    const shareOf = (i: number): FleetWorkload[] =>
      fleet.filter((w) => namespaces.indexOf(w.namespace) % k === i);
    const env = { ...opts.serviceEnv };
    services.push(
      ...(await startServiceProcesses(stack, {
        cluster: 'fleet',
        scanners: opts.scanners,
        env,
        only: 'scanner',
      })),
    );
    const shares = stack.clusters.map((c, i) => ({ c, fleet: shareOf(i) }));
    for (const { c } of shares) {
      services.push(
        ...(await startServiceProcesses(stack, {
          cluster: c.name,
          env,
          only: 'cluster',
          prefix: `${c.name}-`,
        })),
      );
    }
    await waitServicesReady(services);
    for (const { c, fleet: share } of shares) {
      const kube = loadKubeConfig({ kubeconfigPath: c.kubeconfigPath });
      kubes.push(kube);
      const t = createTracker({ kube, fleet: share, run, logger: quiet });
      t.start();
      trackers.push(t);
    }
    await Promise.all(trackers.map((t) => t.synced));
    const traffic = async () => {
      let msgs = 0;
      let inMsgs = 0;
      for (const n of stack.natsCluster.nodes) {
        const t = await natsTraffic(n.monitorUrl);
        msgs += (t?.inMsgs ?? 0) + (t?.outMsgs ?? 0);
        inMsgs += t?.inMsgs ?? 0;
      }
      return { msgs, inMsgs };
    };
    const before = await traffic();
    io.say(`${k} cluster(s): creating ${fleet.length} workloads`);
    let timedOut = false;
    await Promise.all(
      shares.map(async ({ c, fleet: share }, i) => {
        const t = trackers[i] as Tracker;
        await createFleet(stack.kubeConfigOf(c.name), share, run, {
          concurrency: 8,
          onCreated: (w, at) => t.created(w, at),
        });
      }),
    );
    try {
      await Promise.all(trackers.map((t) => t.allDone(opts.timeoutSec * 1000)));
    } catch (err) {
      timedOut = true;
      io.say(`${k} cluster(s): ${(err as Error).message}`);
    }
    const first = Math.min(...trackers.map((t) => t.firstCreatedAt() ?? now()));
    const last = Math.max(...trackers.map((t) => t.lastReportAt() ?? now()));
    await sleep(1500);
    if (!timedOut)
      await waitDrained(
        stack,
        stack.clusters.map((c) => c.name),
        300_000,
      );
    const after = await traffic();
    const scanners = services.filter((s) => s.name.startsWith('scanner'));
    const samples = (await Promise.all(scanners.map((s) => scrape(s.metricsUrl)))).flat();
    const trivyImageRuns = sumOf(samples, 'fleetscan_scanner_trivy_runs_total', { type: 'image' });
    const reports = trackers.reduce((a, t) => a + t.counts().reports, 0);
    const expectedReports = trackers.reduce((a, t) => a + t.counts().expectedReports, 0);
    const uniqueDigests = new Set(images.map((i) => i.digest)).size;
    const storage = await bucketBytes(stack.natsMonitorUrl);
    const msgs = after.msgs - before.msgs;
    const pass: ClusterPass = {
      clusters: k,
      natsNodes: opts.natsNodes,
      owners: fleet.length,
      reports,
      expectedReports,
      uniqueDigests,
      timeToAllReportsMs: last - first,
      trivyImageRuns,
      amplification: trivyImageRuns / uniqueDigests,
      natsMsgs: msgs,
      natsMsgsPerReport: msgs / Math.max(reports, 1),
      natsInMsgsPerReport: (after.inMsgs - before.inMsgs) / Math.max(reports, 1),
      ...storage,
      timedOut,
    };
    io.say(
      `${k} cluster(s): ${reports}/${expectedReports} reports in ${(pass.timeToAllReportsMs / 1000).toFixed(1)} s, ` +
        `${trivyImageRuns} image runs for ${uniqueDigests} digests, ${pass.natsMsgsPerReport.toFixed(1)} NATS msgs/report`,
    );
    return pass;
  } finally {
    for (const t of trackers) await t.stop();
    for (const s of services) await s.process.stop();
    for (const kube of kubes) kube.close();
    await stack.stop();
  }
}

/** Stored bytes of the clusters' results buckets and of the shared blob cache (JetStream's /jsz). */
async function bucketBytes(
  monitorUrl: string,
): Promise<{ resultsBucketBytes: number; blobCacheBytes: number }> {
  const jsz = (await (await fetch(`${monitorUrl}/jsz?acc=FLEETSCAN&streams=true`)).json()) as {
    account_details?: { stream_detail?: { name: string; state: { bytes: number } }[] }[];
  };
  const streams = jsz.account_details?.[0]?.stream_detail ?? [];
  const sum = (pred: (n: string) => boolean) =>
    streams.filter((s) => pred(s.name)).reduce((a, s) => a + s.state.bytes, 0);
  return {
    resultsBucketBytes: sum((n) => n.startsWith('OBJ_fleetscan-results-')),
    blobCacheBytes: sum((n) => n === 'OBJ_fleetscan-blobs'),
  };
}

/** The comparison as a table. */
export function formatComparison(c: ClusterComparison): string {
  const rows = [
    ['clusters', ...c.passes.map((p) => String(p.clusters))],
    ['owners', ...c.passes.map((p) => String(p.owners))],
    ['reports', ...c.passes.map((p) => `${p.reports} / ${p.expectedReports}`)],
    ['time to all reports', ...c.passes.map((p) => `${(p.timeToAllReportsMs / 1000).toFixed(1)} s`)],
    [
      'trivy image runs ÷ unique digests',
      ...c.passes.map((p) => `${p.trivyImageRuns} ÷ ${p.uniqueDigests} = ${p.amplification.toFixed(2)}`),
    ],
    ['NATS messages (in + out) per report', ...c.passes.map((p) => p.natsMsgsPerReport.toFixed(1))],
    ['NATS messages published per report', ...c.passes.map((p) => p.natsInMsgsPerReport.toFixed(1))],
    ['results buckets (bytes)', ...c.passes.map((p) => String(p.resultsBucketBytes))],
    ['shared blob cache (bytes)', ...c.passes.map((p) => String(p.blobCacheBytes))],
  ];
  const w = Math.max(...rows.map((r) => (r[0] ?? '').length));
  return `${rows.map((r) => [(r[0] ?? '').padEnd(w), ...r.slice(1).map((x) => x.padStart(16))].join('  ')).join('\n')}\n`;
}
