import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU times of a process in seconds: its own (all threads), and of its children it has waited for. */
export interface ProcCpu {
  user: number;
  system: number;
  childUser: number;
  childSystem: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so fields
 * are counted from the last ')'. utime, stime, cutime, cstime are fields 14–17, in clock ticks.
 */
export function parseProcStat(text: string, ticksPerSecond: number): ProcCpu {
  const rest = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const field = (n: number) => Number(rest[n - 3] ?? Number.NaN) / ticksPerSecond;
  return { user: field(14), system: field(15), childUser: field(16), childSystem: field(17) };
}

/** VmHWM (peak resident set) and VmRSS from /proc/<pid>/status, in bytes. */
export function parseProcStatus(text: string): { hwm: number; rss: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

let ticks: number | undefined;
/** The kernel's USER_HZ (getconf CLK_TCK); 100 on Linux/x86. */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export function readCpu(pid: number): ProcCpu | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicks());
  } catch {
    return undefined;
  }
}

/** Pids of a process's live children (every thread's: /proc/<pid>/task/<tid>/children). */
export function liveChildren(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * readCpu, with the CPU of children still running added to the children's side: a long-lived
 * child (the scanner's audit worker) counts as it works, not only once it exits and is reaped.
 */
export function readCpuWithLiveChildren(pid: number, depth = 3): ProcCpu | undefined {
  const own = readCpu(pid);
  if (!own || depth === 0) return own;
  for (const child of liveChildren(pid)) {
    const c = readCpuWithLiveChildren(child, depth - 1);
    if (!c) continue;
    own.childUser += c.user + c.childUser;
    own.childSystem += c.system + c.childSystem;
  }
  return own;
}

export function readMemory(pid: number): { hwm: number; rss: number } | undefined {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

export const ownCpu = (c: ProcCpu) => c.user + c.system;
export const childCpu = (c: ProcCpu) => c.childUser + c.childSystem;
