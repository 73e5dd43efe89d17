import { join } from 'node:path';
import { get } from './apiserver.ts';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

/**
 * The controllers fleetscan's behaviour depends on. No scheduler and no
 * kubelet run, so Pods stay Pending; ownership and garbage collection are real.
 */
export const CONTROLLERS = [
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'replicationcontroller-controller',
  'namespace-controller',
  'serviceaccount-controller',
  // The chart's report roles reach namespace users through aggregation into view, edit and admin.
  'clusterrole-aggregation-controller',
] as const;

export interface ControllerManager {
  readonly process: ManagedProcess;
}

export async function startControllerManager(opts: {
  bin: string;
  dir: string;
  kubeconfigPath: string;
  serviceAccountKeyFile: string;
  dieWithParent: boolean;
  /** Client QPS towards the API server; client-go's default (20, burst 30) when omitted. */
  apiQps?: number | undefined;
}): Promise<ControllerManager> {
  const port = await freePort();
  const proc = startProcess({
    name: 'kube-controller-manager',
    command: opts.bin,
    logFile: join(opts.dir, 'kube-controller-manager.log'),
    dieWithParent: opts.dieWithParent,
    args: [
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--authentication-kubeconfig=${opts.kubeconfigPath}`,
      `--authorization-kubeconfig=${opts.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(opts.dir, 'controller-manager-certs')}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${opts.serviceAccountKeyFile}`,
      '--leader-elect=false',
      '--v=1',
      ...(opts.apiQps ? [`--kube-api-qps=${opts.apiQps}`, `--kube-api-burst=${opts.apiQps * 2}`] : []),
    ],
  });
  await waitReady(
    proc,
    async () => (await get(`https://127.0.0.1:${port}/healthz`, undefined)) === 200,
    60_000,
  );
  return { process: proc };
}
