import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type ServerTarget, serverGet } from './server-get.ts';

/**
 * Back-to-back CPU profiles of Go servers of the stack (kube-apiserver, nats-server) while a pass
 * runs: the control plane's half of the box is otherwise one number. Read them with
 * `go tool pprof -top <files>` (pprof merges several).
 */
export function profileGoServers(targets: readonly ServerTarget[], dir: string, sliceSec = 15) {
  const files: string[] = [];
  let stopped = false;
  const loops = targets.map(async (t) => {
    for (let i = 0; !stopped; i++) {
      const file = join(dir, `${t.name}.${String(i).padStart(2, '0')}.pb.gz`);
      try {
        const res = await serverGet(t, `/debug/pprof/profile?seconds=${sliceSec}`, (sliceSec + 30) * 1000);
        await pipeline(res, createWriteStream(file));
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
