import type { KubeObject } from '@fleetscan/kube';
import { describe, expect, it } from 'vitest';
import { ownerProjector } from './owner.ts';

const template = { spec: { containers: [{ name: 'app', image: 'r/app:1' }] } };
const obj = (kind: string, extra: Record<string, unknown>, ownerKind?: string): KubeObject =>
  ({
    apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1',
    kind,
    metadata: {
      name: `${kind.toLowerCase()}-1`,
      namespace: 'ns',
      uid: `uid-${kind}`,
      resourceVersion: '7',
      ...(ownerKind
        ? {
            ownerReferences: [
              { kind: ownerKind, name: 'parent', uid: 'p', apiVersion: 'apps/v1', controller: true },
            ],
          }
        : {}),
    },
    ...extra,
  }) as KubeObject;

describe('ownerProjector', () => {
  it('keeps report owners with their spec hash and containers', () => {
    const o = ownerProjector('ReplicaSet')(
      obj('ReplicaSet', { spec: { replicas: 1, template } }, 'Deployment'),
    );
    expect(o).toMatchObject({
      kind: 'ReplicaSet',
      name: 'replicaset-1',
      uid: 'uid-ReplicaSet',
      containers: [{ name: 'app', image: 'r/app:1' }],
    });
    expect(o?.specHash).toMatch(/^\w+$/);
  });

  it('leaves out what is not an owner: Pods of controllers, old ReplicaSets', () => {
    expect(ownerProjector('Pod')(obj('Pod', { spec: template.spec }, 'ReplicaSet'))).toBeUndefined();
    expect(
      ownerProjector('ReplicaSet')(obj('ReplicaSet', { spec: { replicas: 0, template } }, 'Deployment')),
    ).toBeUndefined();
  });

  it('keeps a bare Pod, which owns its reports', () => {
    expect(ownerProjector('Pod')(obj('Pod', { spec: template.spec }))).toMatchObject({ kind: 'Pod' });
  });
});
