import { describe, expect, it } from 'vitest';
import { reportProjector } from './report-ref.ts';

const meta = (annotations: Record<string, string>) => ({
  name: 'replicaset-web-1-nginx',
  namespace: 'team-a',
  uid: 'r1',
  creationTimestamp: '2026-01-01T00:00:00Z',
  ownerReferences: [
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'o1', controller: true },
  ],
  annotations,
});

describe('reportProjector', () => {
  const project = reportProjector('VulnerabilityReport');

  it('takes the scan time from the body of a full object', () => {
    const ref = project({
      metadata: meta({}),
      report: { updateTimestamp: '2026-03-01T00:00:00Z', artifact: { digest: 'sha256:b' } },
    } as never);
    expect(ref?.updatedAtMs).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(ref?.artifact?.digest).toBe('sha256:b');
    expect(ref?.ownerUid).toBe('o1');
  });

  it("takes time and digest from fleetscan's annotations of a metadata-only object", () => {
    const ref = project({
      kind: 'PartialObjectMetadata',
      metadata: meta({
        'fleetscan.io/updated-at': '2026-02-01T00:00:00Z',
        'fleetscan.io/image-digest': 'sha256:a',
      }),
    } as never);
    expect(ref?.updatedAtMs).toBe(Date.parse('2026-02-01T00:00:00Z'));
    expect(ref?.artifact?.digest).toBe('sha256:a');
  });

  it("falls back to creationTimestamp (trivy-operator's own reports: it replaces them on rescan)", () => {
    const ref = project({ kind: 'PartialObjectMetadata', metadata: meta({}) } as never);
    expect(ref?.updatedAtMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(ref?.artifact).toBeUndefined();
  });
});
