import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readIdentity } from './identity.ts';

const run = promisify(execFile);
const cli = new URL('./cli.ts', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function sleeper() {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  let signal: NodeJS.Signals | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (_c, s) => {
      signal = s;
      resolve();
    }),
  );
  return { pid: child.pid ?? -1, exited, signal: () => signal, kill: () => child.kill('SIGKILL') };
}

async function stateDir(processes: unknown[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-stack-state-'));
  dirs.push(dir);
  await writeFile(join(dir, 'stack.json'), JSON.stringify({ dir, processes }));
  return dir;
}

describe('stack down', () => {
  it('signals a recorded process only while its pid is still that process', { timeout: 60_000 }, async () => {
    const ours = sleeper();
    const stranger = sleeper();
    try {
      const ourId = readIdentity(ours.pid);
      const strangerId = readIdentity(stranger.pid);
      if (!ourId || !strangerId) throw new Error('no identity');
      const dir = await stateDir([
        { name: 'etcd', pid: ours.pid, logFile: '/dev/null', identity: ourId },
        // A pid recorded by a stack long gone, handed out again since: another start time.
        {
          name: 'nats-server',
          pid: stranger.pid,
          logFile: '/dev/null',
          identity: { ...strangerId, startTime: String(Number(strangerId.startTime) - 1) },
        },
      ]);
      const { stderr } = await run(process.execPath, [cli, 'down', '--dir', dir], { timeout: 30_000 });
      await ours.exited;
      expect(ours.signal()).toBe('SIGTERM');
      const strangerDied = await Promise.race([
        stranger.exited.then(() => true),
        sleep(300).then(() => false),
      ]);
      expect(strangerDied).toBe(false);
      expect(stderr).toContain(`not signalled: nats-server (pid ${stranger.pid}): replaced`);
    } finally {
      ours.kill();
      stranger.kill();
    }
  });
});
