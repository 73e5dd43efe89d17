import { createHash } from 'node:crypto';
import { backoff } from '@fleetscan/service';
import { z } from 'zod';
import { MAX_IMAGE_REF_LENGTH, MAX_NAMESPACE_LENGTH, type ScanError } from './messages.ts';

/**
 * A failing image's record in its cluster's failures bucket (topology.ts failuresBucket): the
 * writer keeps one per (namespace, image) whose last scan failed, and deletes it when a scan of
 * the image succeeds; the watcher holds requests for the image until `retryAt`. Because it lives
 * in JetStream and not in a process, the backoff survives restarts of every service, and one
 * record per image is one retry chain, whatever the resync or a restart asks.
 */

/**
 * Records of images nobody asks about any more (no owner runs them) leave the bucket after this
 * (the bucket's max age, set by the scanners that create it: cluster-resources.ts).
 */
export const FAILURE_RECORD_MAX_AGE_MS = 24 * 3600_000;

/** A record's message: enough to name the failure in an Event, not the registry's whole answer. */
export const MAX_FAILURE_MESSAGE_LENGTH = 1000;

const Timestamp = z.iso.datetime({ offset: true }).max(64);

export const ScanFailureRecordSchema = z.object({
  v: z.literal(1),
  image: z.string().min(1).max(MAX_IMAGE_REF_LENGTH),
  namespace: z.string().min(1).max(MAX_NAMESPACE_LENGTH),
  /** The scanner's error code (UNAUTHORIZED, NOT_FOUND, TIMEOUT, …). */
  code: z.string().max(64),
  message: z.string().max(MAX_FAILURE_MESSAGE_LENGTH),
  permanent: z.boolean(),
  /** Rounds that failed in a row (a round: the requests in flight together, see nextRecord). */
  failures: z.number().int().min(1).max(1_000_000),
  firstFailedAt: Timestamp,
  lastFailedAt: Timestamp,
  /** The watcher asks again for the image only from this instant on. */
  retryAt: Timestamp,
});
export type ScanFailureRecord = z.infer<typeof ScanFailureRecordSchema>;

/**
 * The record's key: `<namespace>.<first 32 hex digits of sha256(image)>`. A namespace is a DNS
 * label and the hash is hex, so the key is in KV's key charset whatever the image is named; the
 * namespace token lets a reader select one namespace (`<namespace>.*`).
 */
export function failureKey(namespace: string, image: string): string {
  return `${namespace}.${createHash('sha256').update(image).digest('hex').slice(0, 32)}`;
}

export interface FailureBackoff {
  /** The wait after the first failed round; it doubles per round… */
  baseMs: number;
  /** …up to this. */
  maxMs: number;
}

export const DEFAULT_FAILURE_BACKOFF: FailureBackoff = { baseMs: 60_000, maxMs: 3_600_000 };

/**
 * The wait after the `failures`-th failed round in a row: base doubling to the cap, jittered over
 * the upper half of its ceiling (many images failing together, a registry outage, do not all come
 * back in the same instant).
 */
export function failureBackoffMs(
  failures: number,
  policy: FailureBackoff,
  random: () => number = Math.random,
): number {
  return backoff(Math.max(0, failures - 1), policy.baseMs, policy.maxMs, random);
}

/** An error result as the record sees it. */
export interface FailedScan {
  namespace: string;
  image: string;
  error: ScanError;
  /** When the scanner published the error. */
  finishedAt: string;
  /** When the watcher made the request that failed (absent from older scanners). */
  requestedAt?: string | undefined;
}

/**
 * The record after `failed`, or undefined when the failure belongs to the round `prev` already
 * counts: a request made before that round's last failure was in flight with it (two requests
 * for one image, from two settings variants or a resync) and must not count a second failure, nor
 * push retryAt further. Otherwise a new round: failures + 1, retryAt = finishedAt + backoff.
 */
export function nextRecord(
  prev: ScanFailureRecord | undefined,
  failed: FailedScan,
  policy: FailureBackoff,
  random: () => number = Math.random,
): ScanFailureRecord | undefined {
  if (prev && failed.requestedAt && Date.parse(failed.requestedAt) < Date.parse(prev.lastFailedAt)) {
    return undefined;
  }
  const failures = Math.min((prev?.failures ?? 0) + 1, 1_000_000);
  const at = Date.parse(failed.finishedAt);
  return {
    v: 1,
    image: failed.image,
    namespace: failed.namespace,
    code: failed.error.code.slice(0, 64),
    message: cut(failed.error.message, MAX_FAILURE_MESSAGE_LENGTH),
    permanent: failed.error.permanent,
    failures,
    firstFailedAt: prev?.firstFailedAt ?? failed.finishedAt,
    lastFailedAt: failed.finishedAt,
    retryAt: new Date(at + failureBackoffMs(failures, policy, random)).toISOString(),
  };
}

/** Whether a request for the image must wait: its record's retryAt is still ahead. */
export function heldUntil(record: ScanFailureRecord | undefined, nowMs: number): number | undefined {
  if (!record) return undefined;
  const at = Date.parse(record.retryAt);
  return at > nowMs ? at : undefined;
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
