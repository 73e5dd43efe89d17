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
 *   results bucket), consumes every cluster's requests, publishes results and keeps its consumers'
 *   dead letters. It sees every cluster's data by design.
 * - `watcher-<cluster>`: publishes that cluster's scan requests; reads the fleet's DB version (a
 *   direct get of that key); creates and writes its own manifests bucket (manifests too large for a
 *   request); reads its cluster's scan failures bucket with direct gets (it holds requests for
 *   failing images). It may create no consumer.
 * - `writer-<cluster>`: creates and consumes its own durable consumer (the create subject names the
 *   consumer and its filter, so the server checks both), reads its own results bucket, keeps its
 *   own dead letters; creates, writes and watches its cluster's scan failures bucket.
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
 * Write access to an object store bucket its writer creates: the stream (created, brought to the
 * topology's replicas, read), objects put (chunks and metadata under `$O.<bucket>`), the previous
 * copy's metadata read and its chunks purged when an object is replaced.
 */
function writeBucket(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    `${API}.STREAM.CREATE.${stream}`,
    `${API}.STREAM.UPDATE.${stream}`,
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.STREAM.PURGE.${stream}`,
    `$O.${bucket}.>`,
  ];
}

/**
 * Reading and watching a KV bucket: opening it (stream info), reading a key (direct or message
 * get), and the ordered push consumers of a watch and of a key listing, on that bucket's stream
 * only (their deliveries come to the identity's own inbox).
 */
function readKv(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
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

/** What readKv allows, plus creating the bucket and writing its keys (put, compare-and-set, delete). */
function writeKv(bucket: string): string[] {
  return [...readKv(bucket), `${API}.STREAM.CREATE.KV_${bucket}`, `$KV.${bucket}.>`];
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
            ...writeBucket(manifestsBucket(c)),
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
            // Its consumer of each lane, only with that lane's filter: the server matches both
            // against the request.
            ...LANES.flatMap((lane) => {
              const durable = writerConsumer(c, lane);
              return [
                `${API}.CONSUMER.CREATE.${STREAM_RESULTS}.${durable}.${subjects.resultsFor(c, lane)}`,
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
            // Its cluster's failing images (scan-failures.ts): created, written and watched by it alone.
            ...writeKv(failuresBucket(c)),
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
            `${API}.CONSUMER.INFO.${STREAM_SCAN}.*`,
            `${API}.CONSUMER.MSG.NEXT.${STREAM_SCAN}.*`,
            `$JS.ACK.${STREAM_SCAN}.>`,
            '$O.>',
            `$KV.${LOCK_BUCKET}.>`,
            `$KV.${STATE_BUCKET}.>`,
          ],
          deny: [`${API}.STREAM.DELETE.>`, `${API}.CONSUMER.DELETE.${STREAM_SCAN}.>`],
        },
        subscribe: inbox,
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
