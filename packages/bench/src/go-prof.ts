import { createWriteStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where a Go server serves /debug/pprof, and how to ask it. */
export interface PprofTarget {
  name: string;
  baseUrl: string;
  options(): Promise<RequestOptions>;
}

export const apiserverPprof = (kc: KubeConfig): PprofTarget => ({
  name: 'kube-apiserver',
  baseUrl: kc.getCurrentCluster()?.server ?? '',
  async options() {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  },
});

export const plainPprof = (name: string, baseUrl: string): PprofTarget => ({
  name,
  baseUrl,
  options: async () => ({}),
});

/**
 * Back-to-back CPU profiles of Go servers of the stack (kube-apiserver, nats-server) while a pass
 * runs: the control plane's half of the box is otherwise one number. Read them with
 * `go tool pprof -top <files>` (pprof merges several).
 */
export function profileGoServers(targets: readonly PprofTarget[], dir: string, sliceSec = 15) {
  const files: string[] = [];
  let stopped = false;
  const loops = targets.map(async (t) => {
    for (let i = 0; !stopped; i++) {
      const file = join(dir, `${t.name}.${String(i).padStart(2, '0')}.pb.gz`);
      try {
        await fetchProfile(t, sliceSec, file);
        files.push(file);
      } catch {
        return; // profiling off or the server gone: the run goes on without it
      }
    }
  });
  return {
    async stop(): Promise<string[]> {
      stopped = true;
      await Promise.all(loops);
      return files.sort();
    },
  };
}

async function fetchProfile(t: PprofTarget, seconds: number, file: string): Promise<void> {
  const url = new URL(`/debug/pprof/profile?seconds=${seconds}`, t.baseUrl);
  const opts = await t.options();
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET', timeout: (seconds + 30) * 1000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`pprof: HTTP ${res.statusCode}`));
        return;
      }
      pipeline(res, createWriteStream(file)).then(resolve, reject);
    });
    req.on('timeout', () => req.destroy(new Error('pprof: timeout')));
    req.on('error', reject);
    req.end();
  });
}
