import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { openBlobStore } from './blobs.ts';
import { ensureReplicas } from './replicas.ts';
import { FAILURE_RECORD_MAX_AGE_MS } from './scan-failures.ts';
import { LANES, subjects } from './subjects.ts';
import {
  ensureConsumer,
  failuresBucket,
  manifestsBucket,
  STREAM_RESULTS,
  type TopologyOptions,
  writerConsumerConfig,
} from './topology.ts';

/**
 * Creates, or brings to their fixed configuration, the JetStream resources one cluster's watcher
 * and writer use: the writer's pull consumer of each lane on FLEETSCAN_RESULTS, the cluster's
 * failures KV bucket (written by its writer, read by its watcher) and its manifests object store
 * (written by its watcher, read by the scanners), with the topology's replicas. Idempotent.
 *
 * Only the scanners call it (provision-responder.ts), because permissions see a create's subject
 * and not its body: an identity allowed to create its own stream could give it any subjects
 * (another cluster's inbox) and read them, one allowed a consumer create could ask for push
 * delivery anywhere. The configurations here are fixed; nothing of a request's body reaches them.
 */
export async function ensureClusterResources(
  js: JetStreamClient,
  cluster: string,
  o: Pick<TopologyOptions, 'replicas' | 'maxDeliver'> = {},
): Promise<void> {
  // Validates the name as a subject token (it names streams and consumers below).
  subjects.provision(cluster);
  const replicas = o.replicas ?? 1;
  const jsm = await js.jetstreamManager(false);
  for (const lane of LANES) {
    await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(cluster, o, lane));
  }
  const failures = failuresBucket(cluster);
  await new Kvm(js).create(failures, { history: 1, ttl: FAILURE_RECORD_MAX_AGE_MS, replicas });
  await ensureReplicas(js, `KV_${failures}`, replicas);
  // Read once by a scanner: nothing to keep in memory.
  await openBlobStore(js, { bucket: manifestsBucket(cluster), create: { replicas }, cacheBytes: 0 });
}
