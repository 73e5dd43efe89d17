import { LANES, STREAM_RESULTS, STREAM_SCAN, scanConsumerConfigs, writerConsumer } from '@fleetscan/bus';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Messages waiting or unacknowledged in the scan consumers and the cluster's writer consumer. */
export async function pendingWork(natsUrl: string, cluster: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    // Every scan consumer there is (both lanes, when the scanners have them) and the writer's.
    const scan = scanConsumerConfigs().map((c) => c.durable_name ?? '');
    const infos = await Promise.all([
      ...scan.map((name) => jsm.consumers.info(STREAM_SCAN, name).catch(() => undefined)),
      ...LANES.map((lane) =>
        jsm.consumers.info(STREAM_RESULTS, writerConsumer(cluster, lane)).catch(() => undefined),
      ),
    ]);
    return infos.reduce((a, i) => a + (i ? i.num_pending + i.num_ack_pending : 0), 0);
  } finally {
    await nc.close();
  }
}

/**
 * Waits until no work is left anywhere in the pipeline (twice in a row, a second apart): what the
 * first pass still does after its last report is waste (redeliveries, duplicate audits).
 */
export async function waitDrained(natsUrl: string, cluster: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  while (Date.now() < deadline) {
    zeros = (await pendingWork(natsUrl, cluster)) === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}
