import {
  AppsV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { waitFor } from './wait.ts';

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  rbac: RbacAuthorizationV1Api;
}

export function kubeFor(kubeconfigPath: string): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}

export interface AnyReport {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
  };
  report: Record<string, unknown> & { summary: Record<string, number> };
}

const plural = {
  VulnerabilityReport: 'vulnerabilityreports',
  ExposedSecretReport: 'exposedsecretreports',
  ConfigAuditReport: 'configauditreports',
  SbomReport: 'sbomreports',
} as const;

export async function getReport(
  k: Kube,
  kind: keyof typeof plural,
  namespace: string,
  name: string,
): Promise<AnyReport | undefined> {
  try {
    return (await k.custom.getNamespacedCustomObject({
      group: 'aquasecurity.github.io',
      version: 'v1alpha1',
      plural: plural[kind],
      namespace,
      name,
    })) as AnyReport;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function listReports(
  k: Kube,
  kind: keyof typeof plural,
  namespace: string,
): Promise<AnyReport[]> {
  const res = (await k.custom.listNamespacedCustomObject({
    group: 'aquasecurity.github.io',
    version: 'v1alpha1',
    plural: plural[kind],
    namespace,
  })) as { items: AnyReport[] };
  return res.items;
}

export function waitReport(
  k: Kube,
  kind: keyof typeof plural,
  namespace: string,
  name: string,
  timeoutMs = 90_000,
) {
  return waitFor(`${kind} ${namespace}/${name}`, () => getReport(k, kind, namespace, name), timeoutMs);
}

export function deployment(
  name: string,
  image: string,
  extra: Partial<V1Deployment['spec']> = {},
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image,
              resources: { limits: { memory: '128Mi', cpu: '500m' } },
              ports: [{ containerPort: 80 }],
            },
          ],
        },
      },
      ...extra,
    },
  };
}

/** The Deployment's ReplicaSet with replicas > 0 and the newest revision. */
export async function currentReplicaSet(
  k: Kube,
  namespace: string,
  deploymentName: string,
): Promise<V1ReplicaSet> {
  return waitFor(`current ReplicaSet of ${namespace}/${deploymentName}`, async () => {
    const d = await k.apps.readNamespacedDeployment({ name: deploymentName, namespace });
    const rev = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    const list = await k.apps.listNamespacedReplicaSet({ namespace });
    return list.items.find(
      (r) =>
        r.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid) &&
        r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === rev &&
        (r.spec?.replicas ?? 0) > 0,
    );
  });
}

/** The writer's ScanFailed Warning Events on an owner (by uid), newest count first. */
export async function scanFailedEvents(k: Kube, namespace: string, ownerUid: string): Promise<CoreV1Event[]> {
  const list = await k.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=ScanFailed' });
  return list.items.filter((e) => e.involvedObject.uid === ownerUid);
}

/** Waits for a ScanFailed Event on the owner (a failed scan writes no report, it tells the owner). */
export function waitScanFailedEvent(
  k: Kube,
  namespace: string,
  ownerUid: string,
  timeoutMs = 90_000,
): Promise<CoreV1Event> {
  return waitFor(
    `a ScanFailed event on ${namespace}/${ownerUid}`,
    async () => (await scanFailedEvents(k, namespace, ownerUid))[0],
    timeoutMs,
  );
}
