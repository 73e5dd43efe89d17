import { createHash } from 'node:crypto';
import { SeveritySchema } from '@fleetscan/reports';
import { z } from 'zod';
import {
  MAX_DIGEST_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_IMAGE_REF_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NAMESPACE_LENGTH,
} from './messages.ts';
import { CLUSTER_NAME_PATTERN, UID_TOKEN_PATTERN } from './subjects.ts';

/**
 * The fleet stream's messages (FLEETSCAN_FLEET, issue 15): what the fleet view's read model is built
 * from. Each subject keeps its last message only, so every message is a whole state, never a delta.
 */

const Cluster = z.string().regex(CLUSTER_NAME_PATTERN);
const Namespace = z.string().max(MAX_NAMESPACE_LENGTH);
const Name = z.string().min(1).max(MAX_NAME_LENGTH);
const Uid = z.string().regex(UID_TOKEN_PATTERN);
const Image = z.string().min(1).max(MAX_IMAGE_REF_LENGTH);
const Digest = z.string().max(MAX_DIGEST_LENGTH);
const Timestamp = z.iso.datetime({ offset: true }).max(64);
/** A watcher's start (ms since the epoch): what it publishes after its first list carries it. */
const Epoch = z.number().int().nonnegative();

/** Containers per owner: a pod spec holds far fewer in practice. */
export const MAX_OWNER_CONTAINERS = 256;

export const InventoryOwnerSchema = z.object({
  v: z.literal(1),
  type: z.literal('owner'),
  cluster: Cluster,
  uid: Uid,
  kind: z.string().min(1).max(63),
  namespace: Namespace,
  name: Name,
  containers: z
    .array(
      z.object({
        name: z.string().min(1).max(63),
        image: Image,
        /** The digest the kubelet reported, when it did (pods' imageID). */
        digest: Digest.optional(),
      }),
    )
    .max(MAX_OWNER_CONTAINERS),
  epoch: Epoch,
  at: Timestamp,
});
export type InventoryOwner = z.infer<typeof InventoryOwnerSchema>;

export const InventoryDeletedSchema = z.object({
  v: z.literal(1),
  type: z.literal('deleted'),
  cluster: Cluster,
  uid: Uid,
  epoch: Epoch,
  at: Timestamp,
});
export type InventoryDeleted = z.infer<typeof InventoryDeletedSchema>;

/**
 * The watcher published every owner of its first list with this epoch: owners of the cluster with an
 * older epoch were deleted while no watcher was running (their tombstones were never published).
 */
export const InventorySyncedSchema = z.object({
  v: z.literal(1),
  type: z.literal('synced'),
  cluster: Cluster,
  epoch: Epoch,
  owners: z.number().int().nonnegative(),
  at: Timestamp,
});
export type InventorySynced = z.infer<typeof InventorySyncedSchema>;

export const InventoryMessageSchema = z.discriminatedUnion('type', [
  InventoryOwnerSchema,
  InventoryDeletedSchema,
  InventorySyncedSchema,
]);
export type InventoryMessage = z.infer<typeof InventoryMessageSchema>;

/** One finding, as the fleet view keeps it: what "where does X run" shows, and when it first appeared. */
export const FindingSchema = z.object({
  id: z.string().min(1).max(128),
  severity: SeveritySchema,
  pkg: z.string().max(512),
  installed: z.string().max(256),
  fixed: z.string().max(256),
  title: z.string().max(512),
  /** When this finding (id, package, installed version) was first published for this image and namespace. */
  firstSeen: Timestamp,
  /**
   * The DB version (trivy-db's UpdatedAt) of the scan that first found it: "what is new since a DB
   * version". Absent in messages of scanners older than this field.
   */
  firstDb: z.string().max(64).optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

/** Findings per message: the most severe are kept, the rest counted (`omitted`). */
export const MAX_FLEET_FINDINGS = 4000;

export const ImageFindingsSchema = z.object({
  v: z.literal(1),
  cluster: Cluster,
  namespace: Namespace,
  image: Image,
  digest: Digest.optional(),
  status: z.enum(['ok', 'error']),
  error: z.object({ code: z.string().max(64), message: z.string().max(MAX_ERROR_MESSAGE_LENGTH) }).optional(),
  scannedAt: Timestamp.optional(),
  dbUpdatedAt: z.string().max(64).optional(),
  findings: z.array(FindingSchema).max(MAX_FLEET_FINDINGS),
  omitted: z.number().int().nonnegative(),
  publishedAt: Timestamp,
});
export type ImageFindings = z.infer<typeof ImageFindingsSchema>;

/** Failed checks per message: the most severe are kept, the rest counted (`omitted`). */
export const MAX_FLEET_CHECKS = 256;

/**
 * One owner's failed config audit checks (the scanner publishes it after each audit): what the
 * fleet view's per-cluster "top failing checks" counts. Its uid is the inventory's, so an owner
 * the inventory deletes takes its checks with it.
 */
export const OwnerChecksSchema = z.object({
  v: z.literal(1),
  cluster: Cluster,
  uid: Uid,
  kind: z.string().min(1).max(63),
  namespace: Namespace,
  name: Name,
  failed: z
    .array(z.object({ id: z.string().min(1).max(64), severity: SeveritySchema, title: z.string().max(256) }))
    .max(MAX_FLEET_CHECKS),
  omitted: z.number().int().nonnegative(),
  scannedAt: Timestamp,
  publishedAt: Timestamp,
});
export type OwnerChecks = z.infer<typeof OwnerChecksSchema>;

/** The subject token of an image in a namespace: its subject keeps that pair's latest findings. */
export function findingsKey(namespace: string, image: string): string {
  return createHash('sha256').update(`${namespace}\n${image}`).digest('hex').slice(0, 32);
}

/** A finding's identity within one image's findings. */
export const findingIdentity = (f: Pick<Finding, 'id' | 'pkg' | 'installed'>) =>
  `${f.id}\u0000${f.pkg}\u0000${f.installed}`;
