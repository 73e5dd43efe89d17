import { LANES, PREFIX, subjects } from './subjects.ts';
import {
  failuresBucket,
  LOCK_BUCKET,
  manifestsBucket,
  resultsBucket,
  STATE_BUCKET,
  STATE_KEY_TRIVY_DB,
  STREAM_DEAD,
  STREAM_FLEET,
  STREAM_RESULTS,
  STREAM_SCAN,
  scanConsumer,
  writerConsumer,
} from './topology.ts';

/**
 * Who connects to the fleet's NATS, and what each may do. Every service of every cluster has its
 * own user in one account (FLEETSCAN_ACCOUNT: the streams must be shared), with subject permissions
 * that include the JetStream API, so the server — not the services' good behaviour — keeps one
 * cluster from reading or writing another's work:
 *
 * - `scanner` (the shared fleet; one user for every replica): owns the topology (streams, the dead
 *   letters' among them, the scan consumers, the object stores and KV buckets, each cluster's
 *   results bucket) and every cluster's resources (its writer's consumers, its failures and
 *   manifests buckets), which it provisions when the cluster's watcher or writer asks on
 *   `fleetscan.provision.<cluster>`; consumes every cluster's requests, publishes results and keeps
 *   its consumers' dead letters. It sees every cluster's data by design.
 * - `watcher-<cluster>`: publishes that cluster's scan requests; reads the fleet's DB version (a
 *   direct get of that key); puts objects into its own manifests bucket (manifests too large for a
 *   request); reads its cluster's scan failures bucket with direct gets (it holds requests for
 *   failing images).
 * - `writer-<cluster>`: consumes its own two durable consumers (info, next, acks), reads its own
 *   results bucket, keeps its own dead letters; reads (direct gets) and writes its cluster's scan
 *   failures bucket.
 *
 * No watcher or writer may create, change or delete a stream or a consumer: permissions see a
 * create's subject, not its body, so a stream it may create could be given any subjects (another
 * cluster's inbox, read back with its gets on that stream) and a consumer push delivery to any
 * subject. They ask the scanners, which create their resources with fixed configurations
 * (cluster-resources.ts), on their own cluster's provisioning subject only.
 * - `fleetview`: the fleet view (issue 15), read-only: batched direct gets of the fleet stream, which
 *   holds every cluster's inventory and findings; it creates no consumer and publishes nothing a
 *   service reads.
 * - `admin`: everything in the account (the local stack, tests, benchmarks, an operator's CLI).
 *
 * Replies (JetStream API responses, pulled messages, object chunks) come to each user's own inbox
 * prefix, `_INBOX.<user>`: nobody may subscribe to another's, where pulled results would be visible.
 */
export const FLEETSCAN_ACCOUNT = 'FLEETSCAN';

export type Role = 'admin' | 'scanner' | 'watcher' | 'writer' | 'fleetview';

export interface Identity {
  role: Role;
  /** The cluster of a watcher or writer. */
  cluster?: string;
}

/** The NATS user name of an identity: `scanner`, `admin`, `fleetview`, `watcher-<cluster>`, `writer-<cluster>`. */
export function userName(id: Identity): string {
  if (id.role === 'watcher' || id.role === 'writer') {
    if (!id.cluster) throw new Error(`a ${id.role} identity needs a cluster`);
    // subjects.* validates the cluster name (it becomes a subject token).
    subjects.scanImage(id.cluster);
    return `${id.role}-${id.cluster}`;
  }
  return id.role;
}

/** The inbox prefix an identity's connection must use: the only inbox it may subscribe to. */
export function inboxPrefix(id: Identity): string {
  return `_INBOX.${userName(id)}`;
}

export interface SubjectRules {
  allow: string[];
  deny?: string[];
}

/** nats-server's `permissions` block of a user (the same shape in a config file and in a user JWT). */
export interface Permissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
  /**
   * Replies to the requests it receives, to their reply subjects only (another identity's inbox),
   * once each, within `expires`: the scanners' answers to provisioning requests.
   */
  allow_responses?: { max: number; expires: string };
}

const API = '$JS.API';

/**
 * Read access to an object store bucket: opening it (stream info), an object's metadata (message
 * get) and its chunks (batched direct gets on the stream, blobs.ts). No consumer: reads leave
 * nothing behind on the server, so an identity needs no right to create one.
 */
function readBucket(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [`${API}.STREAM.INFO.${stream}`, `${API}.STREAM.MSG.GET.${stream}`, `${API}.DIRECT.GET.${stream}`];
}

/**
 * Putting objects into an object store bucket the scanners create (cluster-resources.ts): opening
 * it (stream info), objects put (chunks and metadata under `$O.<bucket>`), the previous copy's
 * metadata read and its chunks purged when an object is replaced. No create or update of the
 * stream: the body of either could give it any subjects.
 */
function putObjects(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.STREAM.PURGE.${stream}`,
    `$O.${bucket}.>`,
  ];
}

/**
 * Reading a KV bucket without a consumer: opening it (stream info) and batched direct gets of its
 * stream by sequence (failure-view.ts readFailures). An identity that may create a consumer may ask
 * for push delivery to any subject (the create's body is not checked), so readers get this.
 */
function readKvDirect(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [`${API}.STREAM.INFO.${stream}`, `${API}.DIRECT.GET.${stream}`];
}

/**
 * What readKvDirect allows, plus a key's current value (a direct or message get naming the key)
 * and writing keys (put, compare-and-set, delete) of a bucket the scanners create. No consumer:
 * no KV watch.
 */
function readWriteKv(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    ...readKvDirect(bucket),
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `$KV.${bucket}.>`,
  ];
}

/** The scanner fleet's consumers, both lanes of each kind, with their filters. */
const SCAN_CONSUMERS = LANES.flatMap((lane) => [
  { name: scanConsumer('image', lane), filter: subjects.allScanImage(lane) },
  { name: scanConsumer('config', lane), filter: subjects.allScanConfig(lane) },
]);

/** The permissions of an identity. Pure: the stack, the chart's file and the tests use the same. */
export function permissionsFor(id: Identity): Permissions {
  const inbox = { allow: [`${inboxPrefix(id)}.>`] };
  switch (id.role) {
    case 'admin':
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
    case 'watcher': {
      const c = id.cluster ?? '';
      const state = `KV_${STATE_BUCKET}`;
      return {
        publish: {
          allow: [
            // Both lanes' requests (subjects.ts): its own cluster's only.
            ...LANES.flatMap((lane) => [subjects.scanImage(c, lane), subjects.scanConfig(c, lane)]),
            `${API}.INFO`,
            // Waits for the streams the scanners create; reads the fleet's DB version with a direct
            // get of that one key's last message (the key is in the request's subject). No
            // consumer: a create's body could ask for push delivery to any subject.
            `${API}.STREAM.INFO.${STREAM_SCAN}`,
            `${API}.STREAM.INFO.${state}`,
            `${API}.DIRECT.GET.${state}.$KV.${STATE_BUCKET}.${STATE_KEY_TRIVY_DB}`,
            // Its cluster's inventory on the fleet stream (owners, deletions, the synced mark).
            subjects.inventoryOf(c),
            `${API}.STREAM.INFO.${STREAM_FLEET}`,
            // Manifests too large for a request (a big ConfigMap or CRD): its own cluster's bucket only.
            ...putObjects(manifestsBucket(c)),
            // Asks the scanners for that bucket (and the writer's resources): its own cluster's only.
            subjects.provision(c),
            // Holds requests for images whose scans fail until their retryAt (the writer owns the
            // records): the bucket read with direct gets of its stream by sequence, no watch.
            ...readKvDirect(failuresBucket(c)),
          ],
        },
        subscribe: inbox,
      };
    }
    case 'writer': {
      const c = id.cluster ?? '';
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            // Waits for the stream; counts its pending results (stream info with its filter: the
            // request's filter is not checked, so per-subject counts of other clusters are visible).
            `${API}.STREAM.INFO.${STREAM_RESULTS}`,
            // Its consumer of each lane, made by the scanners when it asks (its own cluster only):
            // bound, pulled from and acked, never created (a create's body could ask for push).
            subjects.provision(c),
            ...LANES.flatMap((lane) => {
              const durable = writerConsumer(c, lane);
              return [
                `${API}.CONSUMER.INFO.${STREAM_RESULTS}.${durable}`,
                `${API}.CONSUMER.MSG.NEXT.${STREAM_RESULTS}.${durable}`,
                `$JS.ACK.${STREAM_RESULTS}.${durable}.>`,
                // The results its consumers terminated (consume() keeps them): its own dead letters only.
                subjects.dead(durable),
              ];
            }),
            // Waits for the dead-letter stream too, so its first dead letter has somewhere to go.
            `${API}.STREAM.INFO.${STREAM_DEAD}`,
            ...readBucket(resultsBucket(c)),
            // Its cluster's failing images (scan-failures.ts): written by it alone, read with direct gets.
            ...readWriteKv(failuresBucket(c)),
          ],
        },
        subscribe: inbox,
      };
    }
    case 'scanner':
      return {
        publish: {
          allow: [
            `${PREFIX}.result.>`,
            // Each image's findings on the fleet stream (the previous ones read with a direct get),
            // and each owner's failed config checks.
            subjects.allFindings,
            subjects.allChecks,
            // The requests its consumers terminated (consume() keeps them).
            ...SCAN_CONSUMERS.map((c) => subjects.dead(c.name)),
            `${API}.INFO`,
            // The topology (the dead-letter stream too), including each cluster's results bucket
            // (named per cluster, so a wildcard stream token): created, updated, read and its
            // replaced chunks purged.
            `${API}.STREAM.CREATE.*`,
            `${API}.STREAM.UPDATE.*`,
            `${API}.STREAM.INFO.*`,
            `${API}.STREAM.MSG.GET.*`,
            `${API}.STREAM.PURGE.*`,
            `${API}.DIRECT.GET.>`,
            ...SCAN_CONSUMERS.map((c) => `${API}.CONSUMER.CREATE.${STREAM_SCAN}.${c.name}.${c.filter}`),
            // Each cluster's writer consumers (cluster-resources.ts), any cluster's filter.
            `${API}.CONSUMER.CREATE.${STREAM_RESULTS}.*.${PREFIX}.result.>`,
            `${API}.CONSUMER.INFO.${STREAM_RESULTS}.*`,
            `${API}.CONSUMER.INFO.${STREAM_SCAN}.*`,
            `${API}.CONSUMER.MSG.NEXT.${STREAM_SCAN}.*`,
            `$JS.ACK.${STREAM_SCAN}.>`,
            '$O.>',
            `$KV.${LOCK_BUCKET}.>`,
            `$KV.${STATE_BUCKET}.>`,
          ],
          deny: [`${API}.STREAM.DELETE.>`, `${API}.CONSUMER.DELETE.${STREAM_SCAN}.>`],
        },
        // Every cluster's provisioning requests, answered to the asker's inbox (allow_responses).
        subscribe: { allow: [...inbox.allow, subjects.allProvision] },
        allow_responses: { max: 1, expires: '1m' },
      };
    case 'fleetview':
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            // The fleet stream read by sequence with batched direct gets (ingest.ts), its state at
            // start from stream info. No consumer: a create's body could ask for push delivery to
            // any subject, which the server would publish to on the account's behalf.
            `${API}.STREAM.INFO.${STREAM_FLEET}`,
            `${API}.DIRECT.GET.${STREAM_FLEET}`,
          ],
        },
        subscribe: inbox,
      };
  }
}
