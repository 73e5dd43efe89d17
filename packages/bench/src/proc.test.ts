import { describe, expect, it } from 'vitest';
import { parseProcStat, parseProcStatus } from './proc.ts';

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
});
