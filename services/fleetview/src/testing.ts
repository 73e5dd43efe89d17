import type { ImageFindings, InventoryMessage } from '@fleetscan/bus';
import type { Severity } from '@fleetscan/reports';

/** Fleet stream messages for tests (not loaded by the service). */
export function ownerMsg(
  cluster: string,
  uid: string,
  o: { namespace?: string; name?: string; images?: string[]; epoch?: number; kind?: string } = {},
): InventoryMessage {
  return {
    v: 1,
    type: 'owner',
    cluster,
    uid,
    kind: o.kind ?? 'ReplicaSet',
    namespace: o.namespace ?? 'shop',
    name: o.name ?? `${uid}-rs`,
    containers: (o.images ?? ['reg/app:1']).map((image, i) => ({ name: `c${i}`, image })),
    epoch: o.epoch ?? 1,
    at: '2026-01-01T00:00:00Z',
  };
}

export function findingsMsg(
  cluster: string,
  image: string,
  findings: readonly (readonly [id: string, severity: Severity, fixed?: string, firstSeen?: string])[],
  o: { namespace?: string; digest?: string } = {},
): ImageFindings {
  return {
    v: 1,
    cluster,
    namespace: o.namespace ?? 'shop',
    image,
    digest: o.digest ?? `sha256:${'a'.repeat(64)}`,
    status: 'ok',
    scannedAt: '2026-01-02T00:00:00Z',
    dbUpdatedAt: '2026-01-01T00:00:00Z',
    findings: findings.map(([id, severity, fixed, firstSeen]) => ({
      id,
      severity,
      pkg: 'openssl',
      installed: '3.0.1',
      fixed: fixed ?? '',
      title: `${id} title`,
      firstSeen: firstSeen ?? '2026-01-02T00:00:00Z',
      firstDb: '2026-01-01T00:00:00Z',
    })),
    omitted: 0,
    publishedAt: '2026-01-02T00:00:00Z',
  };
}
