import { createHash } from 'node:crypto';
import {
  BusErrorCode,
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  encode,
  type ImageScanRequest,
  ImageScanRequestSchema,
  isBusError,
  type Lane,
  type Manifest,
  ownerFilterKey,
  subjects,
} from '@fleetscan/bus';
import { computeSpecHash } from '@fleetscan/reports';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import { createRequestMemory, type EvictionReason } from './request-memory.ts';

/** `duplicate_window` of the scan stream (`@fleetscan/bus` topology's default). */
export const DUPLICATE_WINDOW_MS = 120_000;
/**
 * A new owner of an image whose request is older than this asks again, with a new id: the writer
 * may have answered the earlier request before it saw the new owner.
 */
export const SHARE_WINDOW_MS = 30_000;
/** A restarted watcher's image ask that JetStream drops as a repeat is asked again at most this often. */
const MAX_REPEATED_IDS = 4;
/**
 * The last line of the request memory. Entries normally leave on their own (see request-memory.ts);
 * a watcher holds about one per owner (its config audit) and one per image and namespace.
 */
export const MAX_REMEMBERED_REQUESTS = 100_000;

/**
 * invalid: the request cannot be sent at all (a field past its limit, a 900 KB image name): not
 * retried. skipped: nothing to publish after all (the object to audit changed or went since it
 * was seen; its watch event asks again).
 */
export type PublishOutcome = 'published' | 'pending' | 'duplicate' | 'invalid' | 'skipped';

/** Where a config request's manifest travels: inline, or as an object store key when large. */
export type ManifestPart = { manifest: Manifest } | { manifestBlob: string };

/**
 * Publishes requests with stable message ids and remembers what is pending,
 * so a burst of events (a hundred owners on one image, a watch re-list, a
 * restart) turns into one request. JetStream drops a repeated id within its
 * duplicate window; the id's generation changes when a rescan is wanted on
 * purpose (a deleted report, a request that got no answer).
 */
export interface RequestPublisher {
  /**
   * `purpose` separates refreshes (a DB version, a TTL expiry) from the first request for an image;
   * `lane` is the subject it goes on (urgent by default).
   */
  image(
    req: Omit<ImageScanRequest, 'v' | 'cluster' | 'requestedAt'>,
    purpose?: string,
    lane?: Lane,
  ): Promise<PublishOutcome>;
  /**
   * `manifest` is called only when the request is not pending (reading it may cost a GET and a put
   * to the object store); undefined means there is nothing to audit any more.
   */
  config(
    req: Omit<ConfigAuditRequest, 'v' | 'cluster' | 'requestedAt' | 'manifest' | 'manifestBlob'>,
    manifest: () => Promise<ManifestPart | undefined>,
    lane?: Lane,
  ): Promise<PublishOutcome>;
  /** The key's request was answered (a report appeared) or must be asked again: the next need publishes, with a new id. */
  retry(key: string): void;
  /** No owner in `namespace` uses `image` any more: its requests are forgotten once out of the duplicate window. */
  imageGone(namespace: string, image: string): void;
  /** The owner is gone: its config audit requests are forgotten once out of the duplicate window. */
  ownerGone(uid: string): void;
  /** Forgets requests that no longer matter; call it periodically. */
  sweep(): void;
  /** `variant`: OwnerScan.variant, the settings hash and which of the namespace's owners it is for. */
  imageKey(namespace: string, image: string, variant: string, purpose?: string): string;
  configKey(ownerUid: string, specHash: string, pluginConfigHash: string): string;
  /** Requests remembered, and of those the ones asked and not yet answered. */
  readonly remembered: { readonly size: number; readonly pending: number };
}

export function createRequestPublisher(opts: {
  js: JetStreamClient;
  cluster: string;
  now: () => Date;
  /** A pending request older than this is published again (its answer was lost). */
  retryAfterMs: number;
  /** A new owner on an image with a request older than this asks again (it may have missed the fan-out). */
  shareWindowMs?: number;
  duplicateWindowMs?: number;
  maxRemembered?: number;
  /** Whether this cluster's requests of a lane are still queued in the scan stream (queue-view.ts). */
  queued?: (lane: Lane) => boolean;
  onPublishLatency?: (seconds: number) => void;
  onForget?: (reason: EvictionReason, count: number) => void;
}): RequestPublisher {
  const memory = createRequestMemory({
    duplicateWindowMs: opts.duplicateWindowMs ?? DUPLICATE_WINDOW_MS,
    maxEntries: opts.maxRemembered ?? MAX_REMEMBERED_REQUESTS,
    ...(opts.onForget ? { onEvict: opts.onForget } : {}),
    ...(opts.queued && { queued: opts.queued }),
  });
  const nowMs = () => opts.now().getTime();

  /** `body` is built only for an ask that is not pending; an outcome instead of bytes publishes nothing. */
  const send = async (
    key: string,
    group: string,
    subject: string,
    body: () => Promise<Uint8Array | 'invalid' | 'skipped'>,
    freshMs: number,
    lane: Lane,
    /** How many more times an ask JetStream drops as a repeat goes out again with the next id. */
    repeatsLeft = 0,
  ): Promise<PublishOutcome> => {
    const ask = memory.ask(key, group, freshMs, nowMs(), lane);
    if ('pending' in ask) return 'pending';
    const message = await body().catch((err: unknown) => {
      memory.failed(key);
      throw err;
    });
    if (typeof message === 'string') {
      // Nothing went out: the next ask of this key publishes at once, with the same id.
      memory.failed(key);
      return message;
    }
    const started = performance.now();
    const ack = await opts.js.publish(subject, message, { msgID: ask.msgID }).catch((err: unknown) => {
      memory.failed(key);
      throw err;
    });
    opts.onPublishLatency?.((performance.now() - started) / 1000);
    if (!ack.duplicate) return 'published';
    if (repeatsLeft <= 0) {
      memory.duplicate(key);
      return 'duplicate';
    }
    // An urgent ask (an owner seen new) repeating an id this memory never published: a
    // predecessor's (the watcher restarted), or this key's before it was forgotten. That request may
    // be answered already, before the owner asking now existed, so the ask goes out again with the
    // next id (the predecessor may have used a few generations too: bounded). A bulk ask (the first
    // list's backlog, a resync) waits out the duplicate window instead: the predecessor's request
    // is most likely still being answered, and a second would be a second chain.
    memory.retry(key);
    return send(key, group, subject, body, freshMs, lane, repeatsLeft - 1);
  };

  // Every key of an image in a namespace starts with its group, whatever the settings and purpose.
  const imageGroup = (namespace: string, image: string) =>
    `img.${opts.cluster}.${digestOf(`${namespace}/${image}`)}`;
  const imageKey = (namespace: string, image: string, variant: string, purpose = '') =>
    `${imageGroup(namespace, image)}.${variant}${purpose ? `.${digestOf(purpose)}` : ''}`;
  const ownerGroup = (uid: string) => `cfg.${opts.cluster}.${uid}`;
  const configKey = (uid: string, spec: string, plugin: string) => `${ownerGroup(uid)}.${spec}.${plugin}`;

  return {
    imageKey,
    configKey,
    image: (r, purpose, lane = 'urgent') => {
      const req: ImageScanRequest = {
        v: 1,
        cluster: opts.cluster,
        requestedAt: opts.now().toISOString(),
        ...r,
      };
      const body = encodeValid(ImageScanRequestSchema, req);
      if (!body) return Promise.resolve('invalid' as const);
      return send(
        imageKey(r.namespace, r.image, requestVariant(r), purpose),
        imageGroup(r.namespace, r.image),
        subjects.scanImage(opts.cluster, lane),
        async () => body,
        // The share window is for a new owner (a change seen while watching, urgent); what the
        // watcher finds on its own (a resync) asks again only after REQUEST_RETRY_SECONDS, so it never
        // starts a second retry chain beside a request still being answered.
        lane === 'bulk'
          ? Math.max(opts.retryAfterMs, opts.shareWindowMs ?? SHARE_WINDOW_MS)
          : (opts.shareWindowMs ?? SHARE_WINDOW_MS),
        lane,
        lane === 'urgent' ? MAX_REPEATED_IDS : 0,
      );
    },
    config: (r, manifest, lane = 'urgent') => {
      const request = (part: ManifestPart): ConfigAuditRequest => ({
        v: 1,
        cluster: opts.cluster,
        requestedAt: opts.now().toISOString(),
        ...r,
        ...part,
      });
      // Past the limits whatever its manifest (an owner's name, say): neither sent nor remembered.
      const { apiVersion, kind, name, namespace } = r.owner;
      const stub = { apiVersion, kind, metadata: { name, ...(namespace && { namespace }) } };
      if (!encodeValid(ConfigAuditRequestSchema, request({ manifest: stub })))
        return Promise.resolve('invalid' as const);
      return send(
        configKey(r.owner.uid, r.specHash, r.pluginConfigHash),
        ownerGroup(r.owner.uid),
        subjects.scanConfig(opts.cluster, lane),
        async () => {
          const part = await manifest();
          if (!part) return 'skipped';
          return encodeValid(ConfigAuditRequestSchema, request(part)) ?? 'invalid';
        },
        opts.retryAfterMs,
        lane,
      );
    },
    retry: (key) => memory.retry(key),
    imageGone: (namespace, image) => memory.gone(imageGroup(namespace, image)),
    ownerGone: (uid) => memory.gone(ownerGroup(uid)),
    sweep: () => void memory.sweep(nowMs()),
    remembered: memory,
  };
}

/** OwnerScan.variant, from the request it made. */
export function requestVariant(r: Pick<ImageScanRequest, 'scanConfigHash' | 'ownerFilter'>): string {
  return r.ownerFilter
    ? `${r.scanConfigHash}-${computeSpecHash(ownerFilterKey(r.ownerFilter))}`
    : r.scanConfigHash;
}

/**
 * The request's bytes, or undefined when it can never be valid (a workload naming a 900 KB image):
 * such a request is counted as invalid instead of being retried every 2 s.
 */
function encodeValid<T>(schema: z.ZodType<T>, value: T): Uint8Array | undefined {
  try {
    return encode(schema, value);
  } catch (err) {
    if (isBusError(err, BusErrorCode.InvalidMessage)) return undefined;
    throw err;
  }
}

function digestOf(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}
