import { request } from 'node:https';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { K8sObject } from './deploy-helm.ts';

export interface ApiResponse {
  status: number;
  text: string;
  json(): Record<string, unknown>;
}

/**
 * A bare HTTPS client for the API server with one bearer token. Manifests are sent as they were
 * rendered: client-node's typed serialisation would silently drop unknown fields, which is exactly
 * what the strict field validation below is there to catch.
 */
export interface RawApi {
  readonly server: string;
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
}

export interface Cluster {
  server: string;
  caPem: string;
}

export function rawApi(cluster: Cluster, token: string): RawApi {
  return {
    server: cluster.server,
    call(method, path, body, contentType = 'application/json') {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          new URL(path, cluster.server),
          {
            method,
            ca: cluster.caPem,
            timeout: 30_000,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(payload !== undefined && { 'content-type': contentType }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({
                status: res.statusCode ?? 0,
                text,
                json: () => JSON.parse(text) as Record<string, unknown>,
              });
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`timeout ${method} ${path}`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
  };
}

/** Server, CA and admin token of the stack's kubeconfig. */
export function clusterOf(kubeconfigPath: string): { cluster: Cluster; adminToken: string; kc: KubeConfig } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const c = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!c?.caData || !token) throw new Error(`${kubeconfigPath}: expected CA data and a token`);
  return {
    cluster: { server: c.server, caPem: Buffer.from(c.caData, 'base64').toString('utf8') },
    adminToken: token,
    kc,
  };
}

/** A kubeconfig that authenticates with `token` only, as a pod's service account would. */
export function tokenKubeconfig(cluster: Cluster, token: string, name: string): string {
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'stack',
          cluster: {
            server: cluster.server,
            'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: 'stack', user: name } }],
      'current-context': name,
    },
    null,
    2,
  )}\n`;
}

/** A short-lived token for a ServiceAccount, from the TokenRequest API (what a projected volume holds). */
export async function mintToken(kc: KubeConfig, namespace: string, serviceAccount: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return token;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Maps apiVersion + kind to REST paths through discovery (so CRDs installed by the test resolve too). */
export function createResolver(api: RawApi) {
  const groups = new Map<string, Promise<ApiResource[]>>();
  const resources = (apiVersion: string) => {
    let p = groups.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = api.call('GET', path).then((r) => {
        if (r.status !== 200) throw new Error(`discovery ${path}: ${r.status} ${r.text}`);
        return (r.json() as { resources: ApiResource[] }).resources;
      });
      groups.set(apiVersion, p);
      // A failed lookup (CRD not installed yet) is not remembered.
      p.catch(() => groups.delete(apiVersion));
    }
    return p;
  };
  return async (obj: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> => {
    const list = await resources(obj.apiVersion);
    const r = list.find((x) => x.kind === obj.kind && !x.name.includes('/'));
    if (!r) throw new Error(`${obj.apiVersion} ${obj.kind} is not served by the API server`);
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${r.name}/${encodeURIComponent(obj.metadata.name)}`;
  };
}

export type Resolver = ReturnType<typeof createResolver>;

/**
 * Server-side apply with strict field validation: an unknown or duplicated field is an error, for
 * built-in kinds and for CRDs with structural schemas alike. `dryRun` runs admission and validation
 * without persisting anything.
 */
export async function serverSideApply(
  api: RawApi,
  resolve: Resolver,
  obj: K8sObject,
  opts: { dryRun: boolean; fieldManager?: string },
): Promise<ApiResponse> {
  const q = new URLSearchParams({
    fieldManager: opts.fieldManager ?? 'fleetscan-deploy-test',
    fieldValidation: 'Strict',
    force: 'true',
  });
  if (opts.dryRun) q.set('dryRun', 'All');
  return api.call('PATCH', `${await resolve(obj)}?${q}`, obj, 'application/apply-patch+yaml');
}

/** Deletes what the test applied for real; a 404 is fine. */
export async function deleteObject(api: RawApi, resolve: Resolver, obj: K8sObject): Promise<void> {
  const r = await api.call('DELETE', await resolve(obj));
  if (r.status >= 300 && r.status !== 404)
    throw new Error(`delete ${obj.kind}/${obj.metadata.name}: ${r.status}`);
}
