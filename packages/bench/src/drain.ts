import { LANES, pendingMessages, STREAM_RESULTS, STREAM_SCAN, subjects } from '@fleetscan/bus';
import { natsConnectOptions, type StackInfo } from '@fleetscan/stack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

type NatsOf = Pick<StackInfo, 'natsUrl' | 'nats'>;

/**
 * Messages the clusters' work queues still hold (their scan requests and results), whatever their
 * state: counted from the streams, as the services' pending gauges are (pendingMessages).
 */
export async function pendingWork(stack: NatsOf, clusters: readonly string[]): Promise<number> {
  const nc = await connect(natsConnectOptions(stack));
  try {
    const jsm = await jetstreamManager(nc);
    // Both lanes' requests and results (a message of either keeps the pipeline busy).
    const counts = await Promise.all(
      clusters.flatMap((c) =>
        LANES.flatMap((lane) => [
          pendingMessages(jsm, STREAM_SCAN, subjects.scanImage(c, lane)),
          pendingMessages(jsm, STREAM_SCAN, subjects.scanConfig(c, lane)),
          pendingMessages(jsm, STREAM_RESULTS, subjects.resultsFor(c, lane)),
        ]),
      ),
    );
    return counts.reduce((a, n) => a + n, 0);
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
