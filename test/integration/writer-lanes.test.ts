import { createWriteStream } from 'node:fs';
import {
  encode,
  ensureClusterResources,
  ensureTopology,
  type ImageScanData,
  ImageScanResultSchema,
  type Lane,
  pendingMessages,
  STREAM_RESULTS,
  serveProvisioning,
  subjects,
} from '@fleetscan/bus';
import { createLogger } from '@fleetscan/service';
import { natsConnectOptions, natsEnv, provisionCluster } from '@fleetscan/stack';
import { type RunningWriter, startWriter, loadConfig as writerConfig } from '@fleetscan/writer';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { currentReplicaSet, deployment, getReport, type Kube, kubeFor } from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

// The writer's two lanes against the real stack: a backlog of bulk results (a fleet-wide refresh:
// every one a real write of a newer scan), then one urgent result (a new workload's). With one
// consumer the urgent report would be written after the whole backlog; with a lane of its own it
// is written while the backlog is still there. Order, not time, is asserted.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const cluster = `wlanes-${run}`;
const bulkNs = `wlanes-bulk-${run}`;
const urgentNs = `wlanes-urgent-${run}`;
const BULK_RESULTS = 200;

let k: Kube;
let nc: NatsConnection;
let writer: RunningWriter | undefined;
let provisioning: { stop(): Promise<void> } | undefined;
let logStream: ReturnType<typeof createWriteStream> | undefined;
const image = () => `${stack().registry.host}/library/nginx:1.20`;
const reportName = (rs: string) => `replicaset-${rs}-nginx`;

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  for (const ns of [bulkNs, urgentNs]) {
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('app', image()) });
  }
  // The writer's own NATS user (writer-<cluster>: both lanes' consumers and nothing else); the
  // test publishes as admin.
  await provisionCluster(stack(), cluster);
  nc = await connect(natsConnectOptions(stack()));
  // No scanner runs here, and the scanners own the topology and each cluster's resources: create
  // the one and answer the writer's provisioning request as they would, or the writer waits for
  // what only another test file's scanners make.
  await ensureTopology(jetstream(nc));
  provisioning = serveProvisioning({
    nc,
    ensure: (c) => ensureClusterResources(jetstream(nc), c),
    logger: createLogger({ service: 'provisioning', level: 'warn' }),
  });
  logStream = createWriteStream(`${stack().dir}/writer-${cluster}.log`, { flags: 'a' });
  writer = await startWriter({
    config: writerConfig({
      CLUSTER_NAME: cluster,
      KUBECONFIG: stack().kubeconfigPath,
      ...natsEnv(stack(), { role: 'writer', cluster }),
      METRICS_PORT: '0',
      SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload',
      // One result at a time in each lane: the backlog is worked off one write after another.
      WRITE_CONCURRENCY: '1',
    }),
    logger: createLogger({ service: 'writer', level: 'debug', destination: logStream }),
  });
});

afterAll(async () => {
  await writer?.stop();
  await provisioning?.stop();
  const s = logStream;
  if (s) await new Promise<void>((resolve) => s.end(resolve));
  await nc?.close();
  for (const ns of [bulkNs, urgentNs]) await k?.core.deleteNamespace({ name: ns }).catch(() => {});
});

/** An image result whose scan is `i` seconds after the first, its data inline. */
async function publishResult(namespace: string, lane: Lane, i: number): Promise<string> {
  const scannedAt = new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1000).toISOString();
  const data: ImageScanData = {
    scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.0.1' },
    registry: { server: stack().registry.host },
    artifact: { repository: 'library/nginx', tag: '1.20', digest: 'sha256:lanes' },
    os: { family: 'debian' },
    vulnerabilities: [],
    scannedAt,
    dbUpdatedAt: scannedAt,
  };
  await jetstream(nc).publish(
    subjects.resultImage(cluster, lane),
    encode(ImageScanResultSchema, {
      v: 1,
      cluster,
      namespace,
      image: image(),
      scanConfigHash: 'lanes',
      status: 'ok',
      data,
      cached: true,
      scannedAt,
      finishedAt: new Date().toISOString(),
    }),
  );
  return scannedAt;
}

describe('writer lanes', () => {
  it('writes an urgent result while a backlog of bulk results is still being written', async () => {
    const bulkRs = (await currentReplicaSet(k, bulkNs, 'app')).metadata?.name ?? '';
    const urgentRs = (await currentReplicaSet(k, urgentNs, 'app')).metadata?.name ?? '';
    let last = '';
    for (let i = 0; i < BULK_RESULTS; i++) last = await publishResult(bulkNs, 'bulk', i);
    // The backlog is being worked off: its first write is there.
    await waitFor(
      'the first bulk write',
      () => getReport(k, 'VulnerabilityReport', bulkNs, reportName(bulkRs)),
      120_000,
    );
    await publishResult(urgentNs, 'urgent', BULK_RESULTS);
    await waitFor(
      'the urgent report',
      () => getReport(k, 'VulnerabilityReport', urgentNs, reportName(urgentRs)),
      120_000,
    );
    const jsm = await jetstreamManager(nc);
    const bulkLeft = await pendingMessages(jsm, STREAM_RESULTS, subjects.resultImage(cluster, 'bulk'));
    // One consumer for both would have written the urgent report after all of the backlog.
    expect(bulkLeft).toBeGreaterThan(0);
    // And the backlog is then written to its end, in order: the report holds its last scan.
    await waitFor(
      'the bulk backlog written',
      async () => {
        const r = await getReport(k, 'VulnerabilityReport', bulkNs, reportName(bulkRs));
        return r?.report.updateTimestamp === last ? true : undefined;
      },
      300_000,
    );
    expect(await pendingMessages(jsm, STREAM_RESULTS, subjects.resultImage(cluster, 'bulk'))).toBe(0);
  }, 600_000);
});
