import { pendingMessages, STREAM_RESULTS, STREAM_SCAN, subjects } from '@fleetscan/bus';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * Messages the cluster's work queues still hold (its scan requests and results), whatever their
 * state: counted from the streams, as the services' pending gauges are (pendingMessages).
 */
export async function pendingWork(natsUrl: string, cluster: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const counts = await Promise.all([
      pendingMessages(jsm, STREAM_SCAN, subjects.scanImage(cluster)),
      pendingMessages(jsm, STREAM_SCAN, subjects.scanConfig(cluster)),
      pendingMessages(jsm, STREAM_RESULTS, subjects.resultsFor(cluster)),
    ]);
    return counts.reduce((a, n) => a + n, 0);
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
