import {
  clusterOf,
  findingsKey,
  type ImageFindings,
  ImageFindingsSchema,
  INVENTORY_SYNCED_TOKEN,
  type InventoryMessage,
  InventoryMessageSchema,
  type OwnerChecks,
  OwnerChecksSchema,
  PREFIX,
} from '@fleetscan/bus';

export type FleetMessage =
  | { kind: 'inventory'; message: InventoryMessage }
  | { kind: 'findings'; message: ImageFindings }
  | { kind: 'checks'; message: OwnerChecks }
  | { kind: 'invalid'; reason: string };

/**
 * A fleet stream message, checked against its subject (pure): the cluster it names must be its
 * subject's last token — the token its publisher's permissions allow — and an owner's uid or an
 * image's key the subject's, so no publisher can write another cluster's or another subject's state.
 */
export function decodeFleetMessage(subject: string, data: Uint8Array): FleetMessage {
  const tokens = subject.split('.');
  const cluster = clusterOf(subject);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  if (tokens.length !== 4 || tokens[0] !== PREFIX) return { kind: 'invalid', reason: 'unknown subject' };
  if (tokens[1] === 'inventory') {
    const r = InventoryMessageSchema.safeParse(json);
    if (!r.success)
      return { kind: 'invalid', reason: `inventory: ${r.error.issues[0]?.path.join('.') ?? ''}` };
    const m = r.data;
    if (m.cluster !== cluster) return { kind: 'invalid', reason: 'names another cluster than its subject' };
    const token = m.type === 'synced' ? INVENTORY_SYNCED_TOKEN : m.uid;
    if (tokens[2] !== token) return { kind: 'invalid', reason: 'names another owner than its subject' };
    return { kind: 'inventory', message: m };
  }
  if (tokens[1] === 'findings') {
    const r = ImageFindingsSchema.safeParse(json);
    if (!r.success)
      return { kind: 'invalid', reason: `findings: ${r.error.issues[0]?.path.join('.') ?? ''}` };
    const m = r.data;
    if (m.cluster !== cluster) return { kind: 'invalid', reason: 'names another cluster than its subject' };
    if (tokens[2] !== findingsKey(m.namespace, m.image)) {
      return { kind: 'invalid', reason: 'names another image than its subject' };
    }
    return { kind: 'findings', message: m };
  }
  if (tokens[1] === 'checks') {
    const r = OwnerChecksSchema.safeParse(json);
    if (!r.success) return { kind: 'invalid', reason: `checks: ${r.error.issues[0]?.path.join('.') ?? ''}` };
    const m = r.data;
    if (m.cluster !== cluster) return { kind: 'invalid', reason: 'names another cluster than its subject' };
    if (tokens[2] !== m.uid) return { kind: 'invalid', reason: 'names another owner than its subject' };
    return { kind: 'checks', message: m };
  }
  return { kind: 'invalid', reason: 'unknown subject' };
}
