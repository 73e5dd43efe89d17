import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { type FleetWorkload, workloadManifest } from './fleet.ts';
import { mapLimit } from './stats.ts';

/** Creates workloads and their namespaces through the API; one set of clients per run. */
export interface WorkloadCreator {
  /** Creates each namespace once (one that exists is fine). */
  namespaces(names: Iterable<string>): Promise<void>;
  /** Creates one workload; `onCreated` is called with the time the request is sent. */
  create(w: FleetWorkload, run: string, onCreated?: (at: number) => void): Promise<void>;
}

export function workloadCreator(kc: KubeConfig): WorkloadCreator {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const made = new Set<string>();
  return {
    async namespaces(names) {
      for (const ns of names) {
        if (made.has(ns)) continue;
        await core.createNamespace({ body: { metadata: { name: ns } } }).catch((err: unknown) => {
          if ((err as { code?: number }).code !== 409) throw err;
        });
        made.add(ns);
      }
    },
    async create(w, run, onCreated) {
      const body = workloadManifest(w, run) as never;
      const namespace = w.namespace;
      onCreated?.(performance.timeOrigin + performance.now());
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
    },
  };
}

/** Creates the fleet's namespaces, then its workloads, `concurrency` requests at a time. */
export async function createFleet(
  kc: KubeConfig,
  fleet: readonly FleetWorkload[],
  run: string,
  opts: { concurrency: number; onCreated: (w: FleetWorkload, startedAt: number) => void },
): Promise<void> {
  const creator = workloadCreator(kc);
  await creator.namespaces(new Set(fleet.map((w) => w.namespace)));
  await mapLimit(fleet, opts.concurrency, (w) => creator.create(w, run, (at) => opts.onCreated(w, at)));
}
