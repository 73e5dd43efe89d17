import { PREFIX, subjects } from './subjects.ts';
import {
  BLOB_BUCKET,
  CONSUMER_SCAN_CONFIG,
  CONSUMER_SCAN_IMAGE,
  LOCK_BUCKET,
  resultsBucket,
  STATE_BUCKET,
  STATE_KEY_TRIVY_DB,
  STREAM_RESULTS,
  STREAM_SCAN,
  writerConsumer,
} from './topology.ts';

/**
 * Who connects to the fleet's NATS, and what each may do. Every service of every cluster has its
 * own user in one account (FLEETSCAN_ACCOUNT: the streams must be shared), with subject permissions
 * that include the JetStream API, so the server — not the services' good behaviour — keeps one
 * cluster from reading or writing another's work:
 *
 * - `scanner` (the shared fleet; one user for every replica): owns the topology (streams, the scan
 *   consumers, the object stores and KV buckets, each cluster's results bucket), consumes every
 *   cluster's requests and publishes results. It sees every cluster's data by design.
 * - `watcher-<cluster>`: publishes that cluster's scan requests; reads the fleet's DB version.
 * - `writer-<cluster>`: creates and consumes its own durable consumer (the create subject names the
 *   consumer and its filter, so the server checks both), reads its own results bucket.
 * - `admin`: everything in the account (the local stack, tests, benchmarks, an operator's CLI).
 *
 * Replies (JetStream API responses, pulled messages, object chunks) come to each user's own inbox
 * prefix, `_INBOX.<user>`: nobody may subscribe to another's, where pulled results would be visible.
 */
export const FLEETSCAN_ACCOUNT = 'FLEETSCAN';

export type Role = 'admin' | 'scanner' | 'watcher' | 'writer';

export interface Identity {
  role: Role;
  /** The cluster of a watcher or writer. */
  cluster?: string;
}

/** The NATS user name of an identity: `scanner`, `admin`, `watcher-<cluster>`, `writer-<cluster>`. */
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

/** Read access to an object store bucket: metadata, chunks (through an ordered consumer). */
function readBucket(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    // Flow control replies of the ordered consumer that reads chunks.
    `$JS.FC.${stream}.>`,
  ];
}

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
            subjects.scanImage(c),
            subjects.scanConfig(c),
            `${API}.INFO`,
            // Waits for the stream the scanners create; watches the fleet's DB version: an ordered
            // consumer whose filter can only be that one key (the server checks the create subject's
            // filter against the request). Its name is random and consumers cannot be listed.
            `${API}.STREAM.INFO.${STREAM_SCAN}`,
            `${API}.STREAM.INFO.${state}`,
            `${API}.CONSUMER.CREATE.${state}.*.$KV.${STATE_BUCKET}.${STATE_KEY_TRIVY_DB}`,
            `${API}.CONSUMER.INFO.${state}.*`,
            `${API}.CONSUMER.DELETE.${state}.*`,
            `$JS.FC.${state}.>`,
          ],
        },
        subscribe: inbox,
      };
    }
    case 'writer': {
      const c = id.cluster ?? '';
      const durable = writerConsumer(c);
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            `${API}.STREAM.INFO.${STREAM_RESULTS}`,
            // Only this consumer, only with this filter: the server matches both against the request.
            `${API}.CONSUMER.CREATE.${STREAM_RESULTS}.${durable}.${subjects.resultsFor(c)}`,
            `${API}.CONSUMER.INFO.${STREAM_RESULTS}.${durable}`,
            `${API}.CONSUMER.MSG.NEXT.${STREAM_RESULTS}.${durable}`,
            `$JS.ACK.${STREAM_RESULTS}.${durable}.>`,
            ...readBucket(resultsBucket(c)),
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
            `${API}.INFO`,
            // The topology, including each cluster's results bucket (named per cluster, so a
            // wildcard stream token): created, updated, read and its replaced chunks purged.
            `${API}.STREAM.CREATE.*`,
            `${API}.STREAM.UPDATE.*`,
            `${API}.STREAM.INFO.*`,
            `${API}.STREAM.MSG.GET.*`,
            `${API}.STREAM.PURGE.*`,
            `${API}.DIRECT.GET.>`,
            `${API}.CONSUMER.CREATE.${STREAM_SCAN}.${CONSUMER_SCAN_IMAGE}.${subjects.allScanImage}`,
            `${API}.CONSUMER.CREATE.${STREAM_SCAN}.${CONSUMER_SCAN_CONFIG}.${subjects.allScanConfig}`,
            `${API}.CONSUMER.INFO.${STREAM_SCAN}.*`,
            `${API}.CONSUMER.MSG.NEXT.${STREAM_SCAN}.*`,
            `$JS.ACK.${STREAM_SCAN}.>`,
            ...readBucket(BLOB_BUCKET).filter((s) => !s.startsWith(`${API}.STREAM.`)),
            '$O.>',
            `$KV.${LOCK_BUCKET}.>`,
            `$KV.${STATE_BUCKET}.>`,
          ],
          deny: [`${API}.STREAM.DELETE.>`, `${API}.CONSUMER.DELETE.${STREAM_SCAN}.>`],
        },
        subscribe: inbox,
      };
  }
}
