import type { KubeTransport } from '@fleetscan/kube';
import type { ChurnOp, SoakWorkload } from './churn.ts';

/** Label on everything the soak creates. */
export const SOAK_LABEL = 'fleetscan.io/soak';

const APPLY = { fieldManager: 'fleetscan-soak', force: true };
const PLURAL = { Deployment: 'deployments', StatefulSet: 'statefulsets' } as const;

/**
 * The API object of a soak workload. Deployments roll out with Recreate: the stack runs no kubelet,
 * so new Pods never become ready and a rolling update would keep the old ReplicaSet (an owner) forever.
 */
export function soakManifest(w: SoakWorkload, run: string): Record<string, unknown> {
  const labels = { app: w.name, [SOAK_LABEL]: run };
  const template = {
    metadata: { labels, annotations: { 'fleetscan.io/soak-revision': String(w.revision) } },
    spec: {
      containers: w.images.map((image, i) => ({
        name: i === 0 ? 'app' : `side${i}`,
        image,
        resources: { limits: { cpu: '100m', memory: '64Mi' } },
      })),
    },
  };
  const metadata = { name: w.name, namespace: w.namespace, labels };
  const selector = { matchLabels: { app: w.name } };
  return w.kind === 'Deployment'
    ? {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata,
        spec: { replicas: 1, strategy: { type: 'Recreate' }, selector, template },
      }
    : {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata,
        spec: { replicas: 1, serviceName: w.name, selector, template },
      };
}

/** Applies one change: server-side apply for creates and changes, a background delete for deletes. */
export async function applyChurn(
  transport: KubeTransport,
  op: ChurnOp,
  run: string,
  signal: AbortSignal,
): Promise<void> {
  const w = op.workload;
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/${PLURAL[w.kind]}/${encodeURIComponent(w.name)}`;
  if (op.op === 'delete') {
    await transport.request({ method: 'DELETE', path, body: { propagationPolicy: 'Background' } }, signal);
    return;
  }
  await transport.request(
    {
      method: 'PATCH',
      path,
      query: APPLY,
      body: JSON.stringify(soakManifest(w, run)),
      contentType: 'application/apply-patch+yaml',
    },
    signal,
  );
}

/** Creates the namespaces (already there is fine). */
export async function ensureNamespaces(
  transport: KubeTransport,
  namespaces: readonly string[],
  run: string,
  signal: AbortSignal,
): Promise<void> {
  for (const name of namespaces) {
    await transport.request(
      {
        method: 'PATCH',
        path: `/api/v1/namespaces/${encodeURIComponent(name)}`,
        query: APPLY,
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { [SOAK_LABEL]: run } },
        }),
        contentType: 'application/apply-patch+yaml',
      },
      signal,
    );
  }
}
