import type { KubeObject } from '@fleetscan/kube';

/**
 * Workload objects shaped as the API server sends them (wire JSON, defaults filled in), trimmed to
 * what the projection reads plus the noise it must drop (managedFields, status, annotations).
 * Cast through unknown: they carry what KubeObject does not type (spec, status, timestamps as strings).
 */

const podSpec = (image = 'registry.local/library/nginx:1.20') => ({
  containers: [
    {
      name: 'app',
      image,
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      imagePullPolicy: 'IfNotPresent',
    },
  ],
  initContainers: [{ name: 'init', image: 'registry.local/library/busybox:1.36' }],
  restartPolicy: 'Always',
  dnsPolicy: 'ClusterFirst',
  securityContext: {},
  schedulerName: 'default-scheduler',
});

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: 'shop',
  uid: `uid-${name}`,
  resourceVersion: '4711',
  creationTimestamp: '2026-01-01T00:00:00Z',
  labels: { app: name },
  annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}' },
  managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
  ...extra,
});

export const ownerRef = (kind: string, name: string, apiVersion = 'apps/v1') => ({
  apiVersion,
  kind,
  name,
  uid: `uid-${name}`,
  controller: true,
  blockOwnerDeletion: true,
});

export function pod(
  name: string,
  owner?: ReturnType<typeof ownerRef>,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, owner ? { ownerReferences: [owner] } : {}),
    spec: {
      ...podSpec(),
      nodeName: 'node-1',
      ephemeralContainers: [{ name: 'debug', image: 'registry.local/library/busybox:1.36' }],
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image: 'registry.local/library/nginx:1.20',
          imageID: 'registry.local/library/nginx@sha256:aaa',
          ready: true,
        },
      ],
      initContainerStatuses: [{ name: 'init', image: 'registry.local/library/busybox:1.36', imageID: '' }],
    },
    ...extra,
  } as unknown as KubeObject;
}

export function replicaSet(
  name: string,
  opts: { replicas?: number; deployment?: string; revision?: string } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: meta(name, {
      ...(opts.deployment && { ownerReferences: [ownerRef('Deployment', opts.deployment)] }),
      annotations: {
        'deployment.kubernetes.io/revision': opts.revision ?? '2',
        'deployment.kubernetes.io/desired-replicas': '2',
      },
    }),
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
    status: { replicas: 2, readyReplicas: 2 },
  } as unknown as KubeObject;
}

export function withTemplate(
  kind: string,
  name: string,
  apiVersion: string,
  extraSpec: Record<string, unknown> = {},
  owner?: ReturnType<typeof ownerRef>,
): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: meta(name, owner ? { ownerReferences: [owner] } : {}),
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
      ...extraSpec,
    },
    status: {},
  } as unknown as KubeObject;
}

export function cronJob(name: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta(name),
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: {
        spec: {
          template: {
            spec: { ...podSpec('registry.local/library/alpine:3.19'), restartPolicy: 'OnFailure' },
          },
        },
      },
    },
    status: {},
  } as unknown as KubeObject;
}
