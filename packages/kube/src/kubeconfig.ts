import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError, KubeErrorCode } from './errors.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file (the service's config decides); wins over everything else. */
  kubeconfigPath?: string;
  /** Where the in-cluster service-account files are; tests point this at a temp dir. */
  serviceAccountDir?: string;
  /** Source of KUBERNETES_SERVICE_HOST/PORT; process.env when omitted (read at call time, never at import). */
  env?: Record<string, string | undefined>;
}

/**
 * Loads the kubeconfig: the given file; else in-cluster when the service-account token and CA exist
 * and the service env is set; else client-node's default loading ($KUBECONFIG, ~/.kube/config).
 * Throws KubeError CONFIG when none yields a usable cluster — including client-node's silent
 * fallback to http://localhost:8080, which would otherwise fail later and far from the cause.
 */
export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  if (opts.kubeconfigPath) {
    attempt(`kubeconfig file ${opts.kubeconfigPath}`, () => kc.loadFromFile(opts.kubeconfigPath ?? ''));
    return usable(kc, `kubeconfig file ${opts.kubeconfigPath}`);
  }
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port && existsSync(join(saDir, 'token')) && existsSync(join(saDir, 'ca.crt'))) {
    loadInCluster(kc, host, port, saDir);
    return usable(kc, `in-cluster service account (${saDir})`);
  }
  attempt('default kubeconfig ($KUBECONFIG or ~/.kube/config)', () => kc.loadFromDefault());
  const cluster = kc.getCurrentCluster();
  if (cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080') {
    throw new KubeError(
      KubeErrorCode.Config,
      'no kubeconfig: none given, no in-cluster service account, no $KUBECONFIG and no ~/.kube/config',
    );
  }
  return usable(kc, 'default kubeconfig ($KUBECONFIG or ~/.kube/config)');
}

/**
 * Same shape as client-node's loadFromCluster, but with the host/port passed in. The token is read
 * through the `tokenFile` auth provider, which re-reads it every minute: projected service-account
 * tokens rotate.
 */
function loadInCluster(kc: KubeConfig, host: string, port: string, saDir: string): void {
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const nsFile = join(saDir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false }],
    users: [
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } },
      },
    ],
    contexts: [
      {
        name: 'inClusterContext',
        cluster: 'inCluster',
        user: 'inClusterUser',
        ...(namespace && { namespace }),
      },
    ],
    currentContext: 'inClusterContext',
  });
}

function attempt(source: string, load: () => void): void {
  try {
    load();
  } catch (err) {
    throw new KubeError(KubeErrorCode.Config, `cannot load ${source}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function usable(kc: KubeConfig, source: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeError(KubeErrorCode.Config, `${source}: no current context or cluster`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch (err) {
    throw new KubeError(KubeErrorCode.Config, `${source}: invalid server URL "${cluster.server}"`, {
      cause: err,
    });
  }
  if (!url.hostname || url.hostname === 'undefined') {
    throw new KubeError(KubeErrorCode.Config, `${source}: server URL "${cluster.server}" has no host`);
  }
  return kc;
}
