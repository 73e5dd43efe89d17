import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  childCpu,
  liveChildren,
  parseProcStat,
  parseProcStatus,
  readCpu,
  readCpuWithLiveChildren,
} from './proc.ts';

describe('/proc parsing', () => {
  it('reads utime, stime, cutime, cstime after a command name with spaces and parens', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    // Fields 14..17 get recognisable values.
    fields[14 - 3] = '250';
    fields[15 - 3] = '50';
    fields[16 - 3] = '1000';
    fields[17 - 3] = '100';
    const text = `4242 (node (my) svc) ${fields.join(' ')}\n`;
    expect(parseProcStat(text, 100)).toEqual({ user: 2.5, system: 0.5, childUser: 10, childSystem: 1 });
  });

  it('reads VmHWM and VmRSS in bytes', () => {
    const text = 'Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseProcStatus(text)).toEqual({ hwm: 200 * 2 ** 20, rss: 100 * 2 ** 20 });
  });

  it("counts a running child's CPU on the children's side, as if it had been reaped", async () => {
    // The child burns 100 ms of CPU, says so, and waits to be killed.
    const child = spawn(
      process.execPath,
      [
        '-e',
        'while (process.cpuUsage().user < 100000) {} process.stdout.write("busy\\n"); setInterval(() => {}, 1000);',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await once(child.stdout, 'data');
      expect(liveChildren(process.pid)).toContain(child.pid);
      const plain = readCpu(process.pid);
      const counted = readCpuWithLiveChildren(process.pid);
      if (!plain || !counted) throw new Error('no /proc');
      expect(childCpu(counted) - childCpu(plain)).toBeGreaterThanOrEqual(0.09);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
