import type { RequestOptions } from 'node:https';
import { type KubeConnection, keepAliveAgent } from './connection.ts';
import { configError } from './kubeconfig-file.ts';

/**
 * The two methods of client-node's KubeConfig a connection can be made from — a structural type,
 * so this package never loads client-node. For tools and tests that already hold a KubeConfig;
 * services use loadKubeConfig.
 */
export interface ClientNodeKubeConfig {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

export function isKubeConnection(v: KubeConnection | ClientNodeKubeConfig): v is KubeConnection {
  return typeof (v as KubeConnection).requestOptions === 'function';
}

const adapted = new WeakMap<ClientNodeKubeConfig, KubeConnection>();

/**
 * A connection over a client-node KubeConfig: its credentials, applied per request, but one shared
 * keep-alive agent instead of the new agent client-node makes on every call. One per KubeConfig.
 */
export function asKubeConnection(kc: KubeConnection | ClientNodeKubeConfig): KubeConnection {
  if (isKubeConnection(kc)) return kc;
  const known = adapted.get(kc);
  if (known) return known;
  const server = kc.getCurrentCluster()?.server.replace(/\/+$/, '');
  if (!server) throw configError('client-node KubeConfig has no current cluster');
  const agent = keepAliveAgent(server);
  const conn: KubeConnection = {
    server,
    source: 'client-node KubeConfig',
    namespace: undefined,
    agent,
    async requestOptions() {
      const o: RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      return { ...o, agent };
    },
    invalidate() {},
    close() {
      agent.destroy();
    },
  };
  adapted.set(kc, conn);
  return conn;
}
