import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface AnyReportLike {
  kind: string;
  metadata: { name: string; namespace: string; ownerReferences?: { kind: string; name: string }[] };
  report: { summary: Record<string, number>; vulnerabilities?: unknown[]; checks?: unknown[] };
}

/** The example Deployment of the foundation issue: nginx from the local registry, in `default`. */
export function naiveDeployment(registryHost: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'naive', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: `${registryHost}/library/nginx:1.20`,
              resources: { limits: { memory: '128Mi', cpu: '500m' } },
              ports: [{ containerPort: 80 }],
            },
          ],
        },
      },
    },
  };
}

/**
 * Applies the naive Deployment, then waits for its current ReplicaSet's
 * ConfigAuditReport and VulnerabilityReport; returns them.
 */
export async function runScenario(
  kc: KubeConfig,
  registryHost: string,
  timeoutMs: number,
): Promise<AnyReportLike[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await apps.createNamespacedDeployment({ namespace: 'default', body: naiveDeployment(registryHost) });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rsList = await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=nginx' });
    const rs = rsList.items.find((r) => (r.spec?.replicas ?? 0) > 0);
    if (rs?.metadata?.name) {
      const get = (plural: string, name: string) =>
        custom
          .getNamespacedCustomObject({
            group: 'aquasecurity.github.io',
            version: 'v1alpha1',
            plural,
            namespace: 'default',
            name,
          })
          .then(
            (o) => o as AnyReportLike,
            () => undefined,
          );
      const [config, vuln] = await Promise.all([
        get('configauditreports', `replicaset-${rs.metadata.name}`),
        get('vulnerabilityreports', `replicaset-${rs.metadata.name}-nginx`),
      ]);
      if (config && vuln) return [config, vuln];
    }
    if (Date.now() > deadline) throw new Error(`reports did not appear within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/**
 * A report as a user would save it (`kubectl get -o yaml` without the server's bookkeeping): no
 * managedFields, which are only the field managers' record and longer than the report's summary.
 */
export function savedReport(r: AnyReportLike): AnyReportLike {
  const { managedFields: _, ...metadata } = r.metadata as AnyReportLike['metadata'] & {
    managedFields?: unknown;
  };
  return { ...r, metadata };
}

/** Writes each report as YAML; returns the directory. */
export async function saveReports(dir: string, reports: AnyReportLike[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const r of reports)
    await writeFile(join(dir, `${r.kind}-${r.metadata.name}.yaml`), stringify(savedReport(r)));
  return dir;
}
