import { z } from 'zod';

/**
 * The scanners' answer on `fleetscan.provision.<cluster>` (subjects.provision): the cluster's
 * resources exist with their configuration (ok), or why not, bounded. The request's body is
 * ignored: the subject alone says which cluster, and the server lets a watcher or writer publish
 * only its own cluster's.
 */
export const MAX_PROVISION_ERROR_LENGTH = 300;

export const ProvisionReplySchema = z.union([
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ ok: z.literal(false), error: z.string().max(MAX_PROVISION_ERROR_LENGTH) }).strict(),
]);
export type ProvisionReply = z.infer<typeof ProvisionReplySchema>;

/** The queue group of every scanner replica's provisioning subscription: one answers each request. */
export const PROVISION_QUEUE = 'scanners';
