import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { LANES, type Lane, PREFIX, subjects } from './subjects.ts';

export const STREAM_SCAN = 'FLEETSCAN_SCAN';
export const STREAM_RESULTS = 'FLEETSCAN_RESULTS';
/** Terminated messages (headers + a bounded prefix), kept for inspection: dead-letters.ts. */
export const STREAM_DEAD = 'FLEETSCAN_DEAD';
/**
 * The fleet view's input (issue 15): each cluster's inventory and each image's findings, the last
 * message per subject only (a last-value stream), so the read model can be rebuilt from it.
 */
export const STREAM_FLEET = 'FLEETSCAN_FLEET';
/** An owner's deletion is kept this long (a tombstone with a per-message TTL), then forgotten. */
export const INVENTORY_TOMBSTONE_TTL = '24h';
/**
 * An image's findings expire this long after they were last published: a running image is
 * answered again at least every REPORT_TTL (24 h by default), one nobody runs any more goes.
 */
export const FINDINGS_TTL = '168h';
/** Object store bucket: image scan results by digest (the shared cache) and oversized payloads. */
export const BLOB_BUCKET = 'fleetscan-blobs';

/** KV bucket for fleet-wide state; key `trivy-db` holds the scanners' current DB version (UpdatedAt). */
export const STATE_BUCKET = 'fleetscan-state';
export const STATE_KEY_TRIVY_DB = 'trivy-db';
/** KV bucket of the scanners' analysis locks (one per digest and analysis settings). */
export const LOCK_BUCKET = 'fleetscan-scan-locks';

/**
 * Object store bucket of one cluster's results too large for a message (image results and config
 * audits above the inline limit). Only that cluster's writer may read it; only scanners write it.
 */
export const resultsBucket = (cluster: string) => `fleetscan-results-${cluster}`;

/**
 * Object store bucket of one cluster's manifests too large for a config request
 * (MAX_INLINE_MANIFEST_BYTES). Only that cluster's watcher writes it (creating it when it first
 * needs it, with the scan stream's replicas); the scanners read it. Per cluster, as the results
 * bucket: a shared one would let a cluster's watcher replace another cluster's manifests.
 */
export const manifestsBucket = (cluster: string) => `fleetscan-manifests-${cluster}`;

/**
 * KV bucket of one cluster's failing images: one record per (namespace, image) whose scan failed
 * (scan-failures.ts). Only that cluster's writer creates and writes it (the owner of the failure
 * state); only its watcher reads it, to hold requests until the record's retryAt.
 */
export const failuresBucket = (cluster: string) => `fleetscan-scan-failures-${cluster}`;

export const CONSUMER_SCAN_IMAGE = 'scan-image';
export const CONSUMER_SCAN_CONFIG = 'scan-config';
export const CONSUMER_SCAN_IMAGE_BULK = 'scan-image-bulk';
export const CONSUMER_SCAN_CONFIG_BULK = 'scan-config-bulk';

/** The scanner fleet's consumer of a kind of request in a lane. */
export function scanConsumer(kind: 'image' | 'config', lane: Lane): string {
  if (kind === 'image') return lane === 'bulk' ? CONSUMER_SCAN_IMAGE_BULK : CONSUMER_SCAN_IMAGE;
  return lane === 'bulk' ? CONSUMER_SCAN_CONFIG_BULK : CONSUMER_SCAN_CONFIG;
}
/**
 * A cluster's writer's consumer of a lane's results. The bulk one ends in `_bulk`: a cluster name
 * (a DNS label) has no `_`, so no cluster's consumer is another's (`-bulk` made prod's bulk consumer
 * prod-bulk's urgent one).
 */
export const writerConsumer = (cluster: string, lane: Lane = 'urgent') =>
  lane === 'bulk' ? `writer-${cluster}_bulk` : `writer-${cluster}`;

const NS = 1_000_000;
const SEC = 1000 * NS;

/** Deliveries of one message at most; the last one is told so (consume.ts). */
export const MAX_DELIVERIES = 20;
/**
 * Consumer metadata holding the delivery limit consume() enforces. JetStream's own max_deliver is
 * unlimited: with it, a message whose last delivery was never answered (its replica died) would
 * stay in the work queue undelivered and uncounted; this way it comes back once more and consume()
 * terminates it, with a reason, a counter, a log line and a dead letter.
 */
export const MAX_DELIVERIES_METADATA = 'fleetscan.io/max-deliveries';
/** The scanners' default ack wait: a dead replica's work moves after this (in-progress acks keep live work). */
export const DEFAULT_SCAN_ACK_WAIT_MS = 15_000;

export interface TopologyOptions {
  /**
   * Replicas of every stream, KV bucket and object store the scanners create: 3 on a 3-node NATS
   * cluster (one node may fail), 1 on a single server. Consumers follow their stream's.
   */
  replicas?: number;
  /** JetStream drops a republished request with the same Nats-Msg-Id inside this window. */
  duplicateWindowMs?: number;
  /** How long a scanner may hold a message without an in-progress ack before redelivery. */
  scanAckWaitMs?: number;
  maxDeliver?: number;
  /** How long, and how many bytes of, dead letters are kept. Default 7 days, 256 MiB. */
  deadLetterMaxAgeMs?: number;
  deadLetterMaxBytes?: number;
}

export function streamConfigs(o: TopologyOptions = {}): (Partial<StreamConfig> & { name: string })[] {
  const dup = (o.duplicateWindowMs ?? 120_000) * NS;
  return [
    {
      name: STREAM_SCAN,
      subjects: [`${PREFIX}.scan.>`],
      // Work queue: a request is gone once one scanner acks it.
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: dup,
      num_replicas: o.replicas ?? 1,
    },
    {
      name: STREAM_RESULTS,
      subjects: [`${PREFIX}.result.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: dup,
      num_replicas: o.replicas ?? 1,
    },
    {
      name: STREAM_DEAD,
      subjects: [subjects.allDead],
      // Limits, not a work queue: letters are read by people, and go by age and size.
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: (o.deadLetterMaxAgeMs ?? 7 * 24 * 3600_000) * NS,
      max_bytes: o.deadLetterMaxBytes ?? 256 * 1024 * 1024,
      duplicate_window: dup,
      num_replicas: o.replicas ?? 1,
    },
    {
      name: STREAM_FLEET,
      subjects: [subjects.allInventory, subjects.allFindings, subjects.allChecks],
      // Limits with one message per subject: an owner's or an image's latest state. Not a work queue:
      // the fleet view reads it with ordered consumers from the start, as often as it rebuilds.
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.Old,
      // Deletions are tombstones that expire (INVENTORY_TOMBSTONE_TTL).
      allow_msg_ttl: true,
      // The scanners read an image's previous findings (their first-seen times) with a direct get.
      allow_direct: true,
      // No byte limit (it would be reserved from the server's store, and discarding the oldest
      // would drop live owners): one message per owner and per image in a namespace, and the
      // findings of images nobody scans any more, and the checks of owners nobody audits any more,
      // expire (FINDINGS_TTL).
      duplicate_window: dup,
      num_replicas: o.replicas ?? 1,
    },
  ];
}

/** What every fleetscan consumer shares: explicit acks, and the delivery limit kept in metadata. */
function workConsumer(o: TopologyOptions): Partial<ConsumerConfig> {
  return {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
    metadata: { [MAX_DELIVERIES_METADATA]: String(o.maxDeliver ?? MAX_DELIVERIES) },
    max_ack_pending: 10_000,
  };
}

export function scanConsumerConfigs(o: TopologyOptions = {}): Partial<ConsumerConfig>[] {
  const common: Partial<ConsumerConfig> = {
    ...workConsumer(o),
    ack_wait: (o.scanAckWaitMs ?? DEFAULT_SCAN_ACK_WAIT_MS) * NS,
  };
  return LANES.flatMap((lane) => [
    { ...common, durable_name: scanConsumer('image', lane), filter_subject: subjects.allScanImage(lane) },
    { ...common, durable_name: scanConsumer('config', lane), filter_subject: subjects.allScanConfig(lane) },
  ]);
}

export function writerConsumerConfig(
  cluster: string,
  o: TopologyOptions = {},
  lane: Lane = 'urgent',
): Partial<ConsumerConfig> {
  return {
    ...workConsumer(o),
    durable_name: writerConsumer(cluster, lane),
    filter_subject: subjects.resultsFor(cluster, lane),
    ack_wait: 30 * SEC,
  };
}

/** Creates or updates the streams (idempotent; the scanners call it at start, see ensureTopology). */
export async function ensureStreams(jsm: JetStreamManager, o: TopologyOptions = {}): Promise<void> {
  for (const cfg of streamConfigs(o)) {
    const name = cfg.name ?? '';
    try {
      await jsm.streams.info(name);
      await jsm.streams.update(name, cfg);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(cfg);
    }
  }
}

/**
 * Creates or updates a durable consumer. An update changes a live consumer under replicas that
 * read its config at start: consume() re-reads ack_wait and the delivery limit while it runs, so
 * a shorter ack_wait set by a newer replica does not get older ones' held messages redelivered.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: Partial<ConsumerConfig>,
): Promise<void> {
  const name = cfg.durable_name ?? '';
  try {
    await jsm.consumers.info(stream, name);
    await jsm.consumers.update(stream, name, cfg);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, cfg);
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { code?: number } };
  return e.api_error?.code === 404 || /not found/i.test(e.message ?? '');
}
