import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

export interface Etcd {
  readonly url: string;
  readonly process: ManagedProcess;
}

export async function startEtcd(opts: { bin: string; dir: string; dieWithParent: boolean }): Promise<Etcd> {
  const dataDir = join(opts.dir, 'etcd');
  await mkdir(dataDir, { recursive: true });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess({
    name: 'etcd',
    command: opts.bin,
    logFile: join(opts.dir, 'etcd.log'),
    dieWithParent: opts.dieWithParent,
    args: [
      '--name=fleetscan',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=fleetscan=${peer}`,
      // A throwaway test store on a shared, noisy disk: fsync buys nothing here.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  });
  await waitReady(
    proc,
    async () => {
      const res = await fetch(`${url}/health`);
      const body = (await res.json()) as { health?: string };
      return body.health === 'true';
    },
    30_000,
  );
  return { url, process: proc };
}
