import { createWriteStream } from 'node:fs';
import { type RequestOptions, request } from 'node:https';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Back-to-back CPU profiles of the kube-apiserver (its /debug/pprof/profile, Go's pprof format)
 * while a pass runs: the control plane's half of the box is otherwise a single number. Read them
 * with `go tool pprof -top <files>` (pprof merges several).
 */
export function profileApiserver(kc: KubeConfig, dir: string, sliceSec = 15): { stop(): Promise<string[]> } {
  const files: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const file = join(dir, `kube-apiserver.${String(i).padStart(2, '0')}.pb.gz`);
      try {
        await fetchProfile(kc, sliceSec, file);
        files.push(file);
      } catch {
        return; // profiling off or the server gone: the run goes on without it
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return files;
    },
  };
}

async function fetchProfile(kc: KubeConfig, seconds: number, file: string): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('no cluster in the kubeconfig');
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(`/debug/pprof/profile?seconds=${seconds}`, server);
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
