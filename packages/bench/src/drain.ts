import {
  CONSUMER_SCAN_CONFIG,
  CONSUMER_SCAN_IMAGE,
  STREAM_RESULTS,
  STREAM_SCAN,
  writerConsumer,
} from '@fleetscan/bus';
import { natsConnectOptions, type StackInfo } from '@fleetscan/stack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

type NatsOf = Pick<StackInfo, 'natsUrl' | 'nats'>;

/** Messages waiting or unacknowledged in the scan consumers and the clusters' writer consumers. */
export async function pendingWork(stack: NatsOf, clusters: readonly string[]): Promise<number> {
  const nc = await connect(natsConnectOptions(stack));
  try {
    const jsm = await jetstreamManager(nc);
    const infos = await Promise.all([
      jsm.consumers.info(STREAM_SCAN, CONSUMER_SCAN_IMAGE),
      jsm.consumers.info(STREAM_SCAN, CONSUMER_SCAN_CONFIG),
      ...clusters.map((c) => jsm.consumers.info(STREAM_RESULTS, writerConsumer(c))),
    ]);
    return infos.reduce((a, i) => a + i.num_pending + i.num_ack_pending, 0);
  } finally {
    await nc.close();
  }
}

/**
 * Waits until no work is left anywhere in the pipeline (twice in a row, a second apart): what the
 * first pass still does after its last report is waste (redeliveries, duplicate audits).
 */
export async function waitDrained(
  stack: NatsOf,
  clusters: readonly string[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  while (Date.now() < deadline) {
    zeros = (await pendingWork(stack, clusters)) === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}
