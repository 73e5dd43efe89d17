import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { type FleetWorkload, workloadManifest } from './fleet.ts';
import { mapLimit } from './stats.ts';

/** Creates the fleet's namespaces, then its workloads, `concurrency` requests at a time. */
export async function createFleet(
  kc: KubeConfig,
  fleet: readonly FleetWorkload[],
  run: string,
  opts: { concurrency: number; onCreated: (w: FleetWorkload, startedAt: number) => void },
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  for (const ns of new Set(fleet.map((w) => w.namespace))) {
    await core.createNamespace({ body: { metadata: { name: ns } } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  }
  await mapLimit(fleet, opts.concurrency, async (w) => {
    const body = workloadManifest(w, run) as never;
    const namespace = w.namespace;
    const startedAt = performance.timeOrigin + performance.now();
    opts.onCreated(w, startedAt);
    switch (w.kind) {
      case 'Deployment':
        await apps.createNamespacedDeployment({ namespace, body });
        break;
      case 'StatefulSet':
        await apps.createNamespacedStatefulSet({ namespace, body });
        break;
      case 'DaemonSet':
        await apps.createNamespacedDaemonSet({ namespace, body });
        break;
      case 'CronJob':
        await batch.createNamespacedCronJob({ namespace, body });
        break;
    }
  });
}
