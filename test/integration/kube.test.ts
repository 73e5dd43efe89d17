import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig as KC,
  type KubeConfig,
  type V1Deployment,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/wait.ts';

const ns = `kube-${Date.now().toString(36)}`;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  kc = new KC();
  kc.loadFromFile(inject('stack').kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => {});
});

const deployment = (name: string): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'nginx', image: `${inject('stack').registry.host}/library/nginx:1.20` }] },
    },
  },
});

describe('the local Kubernetes control plane is real', () => {
  it('serves the pinned version', async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe(inject('stack').versions.KUBE_VERSION);
  });

  it('runs the deployment and replicaset controllers: a Deployment gets a ReplicaSet and Pods', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    const rs = await waitFor('ReplicaSet owned by the Deployment', async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns });
      return list.items.find((r) =>
        r.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'),
      );
    });
    const pods = await waitFor('two Pods owned by the ReplicaSet', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      const owned = list.items.filter((p) =>
        p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid),
      );
      return owned.length === 2 ? owned : undefined;
    });
    // No scheduler or kubelet: Pods exist as API objects and stay Pending.
    expect(pods.every((p) => p.status?.phase === 'Pending')).toBe(true);
  });

  it('runs the garbage collector: an object owned by a ReplicaSet goes when the ReplicaSet goes', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { ...deployment('gc'), spec: { ...deployment('gc').spec!, replicas: 0 } },
    });
    const rs = await waitFor('ReplicaSet of gc', async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns });
      return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.name === 'gc'));
    });
    const rsName = rs.metadata?.name ?? '';
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'owned-by-rs',
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rsName,
              uid: rs.metadata?.uid ?? '',
              controller: true,
              blockOwnerDeletion: false,
            },
          ],
        },
        data: { a: 'b' },
      },
    });
    // Orphan the RS from its Deployment first so the deployment controller does not recreate it.
    await apps.deleteNamespacedDeployment({ name: 'gc', namespace: ns, propagationPolicy: 'Orphan' });
    await apps.deleteNamespacedReplicaSet({ name: rsName, namespace: ns, propagationPolicy: 'Background' });
    await waitFor('the garbage collector to delete the ConfigMap', async () => {
      try {
        await core.readNamespacedConfigMap({ name: 'owned-by-rs', namespace: ns });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    });
  });
});
