import { createHash } from 'node:crypto';
import {
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  encode,
  type ImageScanRequest,
  ImageScanRequestSchema,
  subjects,
} from '@fleetscan/bus';
import type { JetStreamClient } from '@nats-io/jetstream';

/**
 * Publishes requests with stable message ids and remembers what is pending,
 * so a burst of events (a hundred owners on one image, a watch re-list, a
 * restart) turns into one request. JetStream drops a repeated id within its
 * duplicate window; `generation` changes the id when a rescan is wanted on
 * purpose (a deleted report, a request that got no answer).
 */
export interface RequestPublisher {
  /** `purpose` separates refreshes (a DB version, a TTL expiry) from the first request for an image. */
  image(
    req: Omit<ImageScanRequest, 'v' | 'cluster' | 'requestedAt'>,
    purpose?: string,
  ): Promise<'published' | 'pending' | 'duplicate'>;
  config(
    req: Omit<ConfigAuditRequest, 'v' | 'cluster' | 'requestedAt'>,
  ): Promise<'published' | 'pending' | 'duplicate'>;
  /** Forget a pending request so the next need publishes again with a new id. */
  retry(key: string): void;
  imageKey(namespace: string, image: string, scanConfigHash: string, purpose?: string): string;
  configKey(ownerUid: string, specHash: string, pluginConfigHash: string): string;
  /** Publish→ack latencies observed, for metrics. */
  readonly pendingCount: number;
}

export function createRequestPublisher(opts: {
  js: JetStreamClient;
  cluster: string;
  now: () => Date;
  /** A pending request older than this is published again (its answer was lost). */
  retryAfterMs: number;
  /** A new owner on an image with a request older than this asks again (it may have missed the fan-out). */
  shareWindowMs: number;
  onPublishLatency?: (seconds: number) => void;
}): RequestPublisher {
  const pending = new Map<string, number>();
  const generation = new Map<string, number>();

  const send = async (
    key: string,
    subject: string,
    body: Uint8Array,
    freshMs: number,
  ): Promise<'published' | 'pending' | 'duplicate'> => {
    const t = opts.now().getTime();
    const at = pending.get(key);
    if (at !== undefined && t - at < freshMs) return 'pending';
    // Asking again on purpose: a new id, or JetStream's duplicate window would drop it as a repeat.
    if (at !== undefined) generation.set(key, (generation.get(key) ?? 0) + 1);
    pending.set(key, t);
    const msgID = `${key}#${generation.get(key) ?? 0}`;
    const started = performance.now();
    const ack = await opts.js.publish(subject, body, { msgID });
    opts.onPublishLatency?.((performance.now() - started) / 1000);
    return ack.duplicate ? 'duplicate' : 'published';
  };

  const imageKey = (namespace: string, image: string, hash: string, purpose = '') =>
    `img.${opts.cluster}.${digestOf(`${namespace}/${image}`)}.${hash}${purpose ? `.${digestOf(purpose)}` : ''}`;
  const configKey = (uid: string, spec: string, plugin: string) =>
    `cfg.${opts.cluster}.${uid}.${spec}.${plugin}`;

  return {
    imageKey,
    configKey,
    image: (r, purpose) => {
      const req: ImageScanRequest = {
        v: 1,
        cluster: opts.cluster,
        requestedAt: opts.now().toISOString(),
        ...r,
      };
      return send(
        imageKey(r.namespace, r.image, r.scanConfigHash, purpose),
        subjects.scanImage(opts.cluster),
        encode(ImageScanRequestSchema, req),
        opts.shareWindowMs,
      );
    },
    config: (r) => {
      const req: ConfigAuditRequest = {
        v: 1,
        cluster: opts.cluster,
        requestedAt: opts.now().toISOString(),
        ...r,
      };
      return send(
        configKey(r.owner.uid, r.specHash, r.pluginConfigHash),
        subjects.scanConfig(opts.cluster),
        encode(ConfigAuditRequestSchema, req),
        opts.retryAfterMs,
      );
    },
    retry: (key) => {
      if (pending.delete(key)) generation.set(key, (generation.get(key) ?? 0) + 1);
    },
    get pendingCount() {
      return pending.size;
    },
  };
}

function digestOf(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}
