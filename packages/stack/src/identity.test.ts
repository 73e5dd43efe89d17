import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkIdentity,
  compareIdentity,
  type ProcessIdentity,
  parseStartTime,
  readIdentity,
  recordedAlive,
  signalRecorded,
} from './identity.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A real process of our own, leading its group as the stack's processes do. */
function sleeper() {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
  return { pid: child.pid ?? -1, exited, kill: () => child.kill('SIGKILL') };
}

/** A fake /proc holding one process, to stand for a pid that was handed out again. */
async function fakeProc(pid: number, stat: string, cmdline: string, bootId: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fleetscan-proc-'));
  dirs.push(root);
  await mkdir(join(root, String(pid)), { recursive: true });
  await mkdir(join(root, 'sys/kernel/random'), { recursive: true });
  await writeFile(join(root, String(pid), 'stat'), stat);
  await writeFile(join(root, String(pid), 'cmdline'), cmdline);
  await writeFile(join(root, 'sys/kernel/random/boot_id'), `${bootId}\n`);
  return root;
}

const statLine = (pid: number, comm: string, start: number) =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

describe('parseStartTime', () => {
  it('reads field 22, whatever the command name holds', () => {
    expect(parseStartTime(statLine(42, 'nats-server', 123456))).toBe('123456');
    expect(parseStartTime(statLine(42, 'a) (b c) S 9', 777))).toBe('777');
    expect(parseStartTime('garbage')).toBeUndefined();
  });
});

describe('process identity', () => {
  it('a recorded process is the same while it runs, and gone once it exited', async () => {
    const p = sleeper();
    try {
      const id = readIdentity(p.pid);
      expect(id).toMatchObject({ pid: p.pid, cmdline: 'sleep\u000030' });
      if (!id) throw new Error('no identity');
      expect(checkIdentity(id)).toBe('same');
      expect(recordedAlive(id)).toBe(true);
      p.kill();
      await p.exited;
      expect(checkIdentity(id)).toBe('gone');
      expect(recordedAlive(id)).toBe(false);
    } finally {
      p.kill();
    }
  });

  it('a pid that another process has now is never signalled', async () => {
    const p = sleeper();
    try {
      const real = readIdentity(p.pid);
      if (!real) throw new Error('no identity');
      // As recorded by an earlier stack whose process had this pid: another start time.
      const earlier: ProcessIdentity = { ...real, startTime: String(Number(real.startTime) - 1) };
      expect(checkIdentity(earlier)).toBe('replaced');
      expect(signalRecorded(earlier, 'SIGKILL')).toBe('replaced');
      const died = await Promise.race([p.exited.then(() => true), sleep(300).then(() => false)]);
      expect(died).toBe(false);
      expect(checkIdentity(real)).toBe('same');
      // The very process is signalled, with its group.
      expect(signalRecorded(real, 'SIGTERM')).toBe('same');
      expect(await p.exited).toBe('SIGTERM');
    } finally {
      p.kill();
    }
  });

  it('start time, command line and boot must all match', async () => {
    const recorded: ProcessIdentity = {
      pid: 4242,
      startTime: '1000',
      cmdline: 'etcd\u0000--data-dir\u0000/x',
      bootId: 'boot-a',
    };
    const same = await fakeProc(
      4242,
      statLine(4242, 'etcd', 1000),
      'etcd\u0000--data-dir\u0000/x\u0000',
      'boot-a',
    );
    expect(checkIdentity(recorded, same)).toBe('same');
    const otherStart = await fakeProc(
      4242,
      statLine(4242, 'etcd', 1001),
      'etcd\u0000--data-dir\u0000/x',
      'boot-a',
    );
    expect(checkIdentity(recorded, otherStart)).toBe('replaced');
    const otherCommand = await fakeProc(4242, statLine(4242, 'bash', 1000), 'bash', 'boot-a');
    expect(checkIdentity(recorded, otherCommand)).toBe('replaced');
    const rebooted = await fakeProc(
      4242,
      statLine(4242, 'etcd', 1000),
      'etcd\u0000--data-dir\u0000/x',
      'boot-b',
    );
    expect(checkIdentity(recorded, rebooted)).toBe('replaced');
    expect(compareIdentity(recorded, undefined)).toBe('gone');
  });
});
