import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

export interface Nats {
  readonly url: string;
  readonly monitorUrl: string;
  /** Go pprof (when started with profiling). */
  readonly profUrl?: string;
  readonly process: ManagedProcess;
}

export async function startNats(opts: {
  bin: string;
  dir: string;
  dieWithParent: boolean;
  /** Fixed ports, to restart a server where its clients expect it. */
  port?: number;
  monitorPort?: number;
  /** Serve Go's /debug/pprof on a port of its own (prof_port), for CPU profiles. */
  profiling?: boolean | undefined;
}): Promise<Nats> {
  const storeDir = join(opts.dir, 'jetstream');
  await mkdir(storeDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const monitorPort = opts.monitorPort ?? (await freePort());
  const profPort = opts.profiling ? await freePort() : undefined;
  const conf = join(opts.dir, 'nats.conf');
  await writeFile(
    conf,
    [
      'server_name: fleetscan-local',
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${monitorPort}`,
      ...(profPort ? [`prof_port: ${profPort}`] : []),
      'jetstream {',
      `  store_dir: ${JSON.stringify(storeDir)}`,
      '  max_memory_store: 256MB',
      '  max_file_store: 4GB',
      '}',
      '',
    ].join('\n'),
  );
  const proc = startProcess({
    name: 'nats-server',
    command: opts.bin,
    args: ['-c', conf],
    logFile: join(opts.dir, 'nats-server.log'),
    dieWithParent: opts.dieWithParent,
  });
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  await waitReady(proc, async () => (await fetch(`${monitorUrl}/healthz?js-enabled-only=true`)).ok, 30_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl,
    ...(profPort && { profUrl: `http://127.0.0.1:${profPort}` }),
    process: proc,
  };
}
