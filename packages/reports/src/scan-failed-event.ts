import { createHash } from 'node:crypto';

/**
 * The Kubernetes Event a writer puts on a report owner whose image could not be scanned (no report
 * is written for a failed scan). Its reason, and its name: one per (owner uid, image), so each new
 * failed round updates the one Event (count, lastTimestamp) instead of adding another, as the
 * kubelet's repeats do. Shared by the writer, which writes it, and the fleet check, which looks
 * for it.
 */
export const SCAN_FAILED_REASON = 'ScanFailed';

/** `<owner name, cut>.scanfailed.<16 hex digits of sha256(uid, image)>`: a valid Event name. */
export function scanFailedEventName(
  owner: { readonly name: string; readonly uid: string },
  image: string,
): string {
  const hash = createHash('sha256').update(`${owner.uid}\n${image}`).digest('hex').slice(0, 16);
  return `${owner.name.slice(0, 200)}.scanfailed.${hash}`;
}
