import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * Messages a work-queue consumer still has to finish: every message in the stream on its filter,
 * whatever its state (waiting, being handled, naked with a delay, or past JetStream's max_deliver).
 * The consumer's own num_pending + num_ack_pending leave out the last kind: a message delivered
 * max_deliver times without an ack stays in a work queue, undelivered and uncounted (the probe's
 * request that sat 40 minutes while the pending metric said 0).
 */
export async function pendingMessages(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  let total = 0;
  for (const n of Object.values(info.state.subjects ?? {})) total += n;
  return total;
}
