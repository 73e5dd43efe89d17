import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * Brings an existing stream (a KV bucket's or object store's too) to `replicas`: creating a bucket
 * that exists leaves its configuration alone, so a fleet moved from one NATS server to a 3-node
 * cluster would otherwise keep single-replica buckets. NATS scales a stream's replicas in place.
 */
export async function ensureReplicas(js: JetStreamClient, stream: string, replicas: number): Promise<void> {
  const jsm = await js.jetstreamManager(false);
  const info = await jsm.streams.info(stream);
  if ((info.config.num_replicas ?? 1) === replicas) return;
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
}
