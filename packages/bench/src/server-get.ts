import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A stack server the benchmark reads from (metrics, pprof), and how to authenticate to it. */
export interface ServerTarget {
  name: string;
  baseUrl: string;
  options(): Promise<RequestOptions>;
}

export const apiserverTarget = (kc: KubeConfig): ServerTarget => ({
  name: 'kube-apiserver',
  baseUrl: kc.getCurrentCluster()?.server ?? '',
  async options() {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  },
});

export const plainTarget = (name: string, baseUrl: string): ServerTarget => ({
  name,
  baseUrl,
  options: async () => ({}),
});

/** GET `path`; resolves with the 200 response to read, rejects on any other status or timeout. */
export async function serverGet(t: ServerTarget, path: string, timeoutMs: number): Promise<IncomingMessage> {
  const url = new URL(path, t.baseUrl);
  const opts = await t.options();
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET', timeout: timeoutMs }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      res.resume();
      reject(new Error(`${t.name} ${url.pathname}: HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`${t.name} ${url.pathname}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}
