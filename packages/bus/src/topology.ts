import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { LANES, type Lane, PREFIX, subjects } from './subjects.ts';

export const STREAM_SCAN = 'FLEETSCAN_SCAN';
export const STREAM_RESULTS = 'FLEETSCAN_RESULTS';
/** Object store bucket: image scan results by digest (the shared cache) and oversized payloads. */
export const BLOB_BUCKET = 'fleetscan-blobs';

/** KV bucket for fleet-wide state; key `trivy-db` holds the scanners' current DB version (UpdatedAt). */
export const STATE_BUCKET = 'fleetscan-state';
export const STATE_KEY_TRIVY_DB = 'trivy-db';

export const CONSUMER_SCAN_IMAGE = 'scan-image';
export const CONSUMER_SCAN_CONFIG = 'scan-config';
export const CONSUMER_SCAN_IMAGE_BULK = 'scan-image-bulk';
export const CONSUMER_SCAN_CONFIG_BULK = 'scan-config-bulk';

/** The scanner fleet's consumer of a kind of request in a lane. */
export function scanConsumer(kind: 'image' | 'config', lane: Lane): string {
  if (kind === 'image') return lane === 'bulk' ? CONSUMER_SCAN_IMAGE_BULK : CONSUMER_SCAN_IMAGE;
  return lane === 'bulk' ? CONSUMER_SCAN_CONFIG_BULK : CONSUMER_SCAN_CONFIG;
}
/** A cluster's writer's consumer of a lane's results. */
export const writerConsumer = (cluster: string, lane: Lane = 'urgent') =>
  lane === 'bulk' ? `writer-${cluster}-bulk` : `writer-${cluster}`;

const NS = 1_000_000;
const SEC = 1000 * NS;

export interface TopologyOptions {
  /** JetStream drops a republished request with the same Nats-Msg-Id inside this window. */
  duplicateWindowMs?: number;
  /** How long a scanner may hold a message without an in-progress ack before redelivery. */
  scanAckWaitMs?: number;
  maxDeliver?: number;
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
    },
    {
      name: STREAM_RESULTS,
      subjects: [`${PREFIX}.result.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: dup,
    },
  ];
}

export function scanConsumerConfigs(o: TopologyOptions = {}): Partial<ConsumerConfig>[] {
  const common: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: (o.scanAckWaitMs ?? 60_000) * NS,
    max_deliver: o.maxDeliver ?? 20,
    max_ack_pending: 10_000,
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
    durable_name: writerConsumer(cluster, lane),
    filter_subject: subjects.resultsFor(cluster, lane),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30 * SEC,
    max_deliver: o.maxDeliver ?? 20,
    max_ack_pending: 10_000,
  };
}

/** Creates or updates the streams (idempotent; every service calls it at start). */
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

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { code?: number } };
  return e.api_error?.code === 404 || /not found/i.test(e.message ?? '');
}
