import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type ConnectionOptions, createKubeConnection, type KubeConnection } from './connection.ts';
import { configError, readKubeconfigFiles, resolveContext } from './kubeconfig-file.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions extends ConnectionOptions {
  /**
   * An explicit kubeconfig (the service's config decides); wins over everything else. A
   * path-delimiter-separated list (a $KUBECONFIG value) is merged like $KUBECONFIG.
   */
  kubeconfigPath?: string;
  /** A context other than the current one. */
  context?: string;
  /** Where the in-cluster service-account files are; tests point this at a temp dir. */
  serviceAccountDir?: string;
  /**
   * Source of KUBERNETES_SERVICE_HOST/PORT, KUBECONFIG, HOME and of exec plugins' environment;
   * process.env when omitted (read at call time, never at import).
   */
  env?: Record<string, string | undefined>;
}

/**
 * Loads the connection to the API server: the given kubeconfig; else in-cluster when the
 * service-account token and CA exist and the service env is set; else $KUBECONFIG (a list,
 * merged first-wins as kubectl does) or ~/.kube/config. Throws KubeError CONFIG naming the source
 * and what is wrong when none yields a usable cluster — or when it asks for something fleetscan
 * does not support (an auth-provider other than oidc, a socks5 proxy, impersonation).
 */
export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConnection {
  const env = opts.env ?? process.env;
  const connect = { ...opts, env };
  if (opts.kubeconfigPath) {
    const paths = opts.kubeconfigPath.split(delimiter).filter(Boolean);
    const source =
      paths.length > 1 ? `kubeconfig files ${paths.join(delimiter)}` : `kubeconfig file ${paths[0]}`;
    // One explicit file must exist; in a list, missing files are skipped as in $KUBECONFIG.
    const files = readKubeconfigFiles(paths, paths.length > 1);
    if (files.files.length === 0) throw configError(`${source}: none of the files exists`);
    return createKubeConnection(resolveContext(files, source, opts.context), connect);
  }
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port && existsSync(join(saDir, 'token')) && existsSync(join(saDir, 'ca.crt'))) {
    return createKubeConnection(inClusterSpec(host, port, saDir), connect);
  }
  const list = env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [];
  if (list.length > 0) {
    const source = `$KUBECONFIG (${list.join(delimiter)})`;
    const files = readKubeconfigFiles(list, true);
    if (files.files.length === 0) {
      throw configError(
        `no kubeconfig: none given, no in-cluster service account, and no file in ${source} exists`,
      );
    }
    return createKubeConnection(resolveContext(files, source, opts.context), connect);
  }
  const home = env.HOME;
  const file = home ? join(home, '.kube', 'config') : undefined;
  if (!file || !existsSync(file)) {
    throw configError(
      `no kubeconfig: none given, no in-cluster service account, no $KUBECONFIG and no ${file ?? '~/.kube/config ($HOME is not set)'}`,
    );
  }
  return createKubeConnection(
    resolveContext(readKubeconfigFiles([file], false), `kubeconfig file ${file}`, opts.context),
    connect,
  );
}

/**
 * As client-go's rest.InClusterConfig: the service host and port from the env, the CA and the
 * token from the service-account directory. The token file is re-read (projected tokens rotate).
 */
function inClusterSpec(host: string, port: string, saDir: string) {
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const nsFile = join(saDir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  return {
    server,
    source: `in-cluster service account (${saDir})`,
    ...(namespace && { namespace }),
    ca: { file: join(saDir, 'ca.crt') },
    auth: { kind: 'token' as const, token: undefined, tokenFile: join(saDir, 'token') },
  };
}
