import type { KubeObject } from '@fleetscan/kube';
import { KubeError, KubeErrorCode } from '@fleetscan/kube';
import { describe, expect, it } from 'vitest';
import { createManifestSource } from './fetch-manifest.ts';
import { ownerManifest } from './owner.ts';
import { auditManifest, projectResource } from './project-resource.ts';
import { expandAuditKinds } from './resource-kinds.ts';

/** A Service as the API server sends it: server-set metadata, status, kubectl's annotation. */
const service = (over: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u-web',
      resourceVersion: '10',
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      labels: { app: 'web' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}',
        'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
      },
    },
    spec: { type: 'NodePort', ports: [{ port: 80 }], selector: { app: 'web' } },
    status: { loadBalancer: {} },
    ...over,
  }) as unknown as KubeObject;

const configMap = (data: Record<string, string>, over: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config', namespace: 'shop', uid: 'u-cm', resourceVersion: '3' },
    data,
    ...over,
  }) as KubeObject;

describe('audited resources', () => {
  it('audits the object as configured: no status, no server-set metadata, no kubectl copy of it', () => {
    expect(auditManifest('Service', service())).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web' },
        annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' },
      },
      spec: { type: 'NodePort', ports: [{ port: 80 }], selector: { app: 'web' } },
    });
  });

  it('keeps the manifest of a small kind and hashes it; status and server fields leave the hash alone', () => {
    const o = projectResource('Service', service());
    expect(o).toMatchObject({
      kind: 'Service',
      namespace: 'shop',
      name: 'web',
      uid: 'u-web',
      containers: [],
    });
    expect(ownerManifest(o!)).toEqual(auditManifest('Service', service()));
    const restatused = projectResource(
      'Service',
      service({ status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } }),
    );
    expect(restatused?.specHash).toBe(o?.specHash);
    const changed = projectResource(
      'Service',
      service({ spec: { type: 'ClusterIP', ports: [{ port: 80 }] } }),
    );
    expect(changed?.specHash).not.toBe(o?.specHash);
  });

  it("keeps only a ConfigMap's hash: its data is read again when audited", () => {
    const o = projectResource('ConfigMap', configMap({ password: 'hunter2' }));
    expect(o?.manifest).toBeUndefined();
    expect(ownerManifest(o!)).toBeUndefined();
    expect(projectResource('ConfigMap', configMap({ password: 'hunter3' }))?.specHash).not.toBe(o?.specHash);
  });

  it('gives cluster-scoped objects no namespace, and skips terminating objects and leader locks', () => {
    const pv = projectResource('PersistentVolume', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1', uid: 'u-pv' },
      spec: { hostPath: { path: '/etc' } },
    } as KubeObject);
    expect(pv).toMatchObject({ kind: 'PersistentVolume', namespace: '', name: 'pv-1' });
    expect(
      projectResource(
        'Service',
        service({ metadata: { name: 'x', uid: 'u', deletionTimestamp: '2026-01-01T00:00:00Z' } }),
      ),
    ).toBeUndefined();
    expect(
      projectResource(
        'ConfigMap',
        configMap(
          {},
          {
            metadata: {
              name: 'lock',
              namespace: 'kube-system',
              uid: 'u-l',
              annotations: { 'control-plane.alpha.kubernetes.io/leader': '{"holderIdentity":"a"}' },
            },
          },
        ),
      ),
    ).toBeUndefined();
  });

  it("expands trivy-operator's Workload alias", () => {
    expect(expandAuditKinds(['Workload', 'ClusterRole', 'Service'])).toEqual({
      workloads: [
        'Pod',
        'ReplicaSet',
        'ReplicationController',
        'StatefulSet',
        'DaemonSet',
        'Job',
        'CronJob',
        'Deployment',
      ],
      resources: ['Service', 'ClusterRole'],
    });
  });
});

describe('manifest source', () => {
  const cm = configMap({ password: 'hunter2' });
  const seen = projectResource('ConfigMap', cm);

  it('reads a ConfigMap again at its namespaced path and audits it when it is what was seen', async () => {
    const paths: string[] = [];
    const source = createManifestSource({
      getJson: async (path) => {
        paths.push(path);
        return cm;
      },
    });
    expect(await source(seen!)).toEqual(auditManifest('ConfigMap', cm));
    expect(paths).toEqual(['/api/v1/namespaces/shop/configmaps/app-config']);
  });

  it('gives nothing when the object changed since it was seen, or is gone', async () => {
    const changed = createManifestSource({ getJson: async () => configMap({ password: 'changed' }) });
    expect(await changed(seen!)).toBeUndefined();
    const gone = createManifestSource({
      getJson: async () => {
        throw new KubeError(KubeErrorCode.NotFound, 'not found');
      },
    });
    expect(await gone(seen!)).toBeUndefined();
  });

  it('reads a CRD at its cluster path, and never reads what the inventory keeps', async () => {
    const paths: string[] = [];
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com', uid: 'u-crd' },
      spec: { group: 'example.com' },
    } as KubeObject;
    const source = createManifestSource({
      getJson: async (path) => {
        paths.push(path);
        return crd;
      },
    });
    const owner = projectResource('CustomResourceDefinition', crd);
    expect(await source(owner!)).toMatchObject({
      kind: 'CustomResourceDefinition',
      spec: { group: 'example.com' },
    });
    expect(await source(projectResource('Service', service())!)).toMatchObject({ kind: 'Service' });
    expect(paths).toEqual(['/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com']);
  });
});
