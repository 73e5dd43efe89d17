import { readFileSync } from 'node:fs';

/**
 * Who a process is, beyond its pid: pids wrap, so a pid recorded when the stack started may
 * belong to someone else's process by the time `stack:down` signals it. The start time (clock
 * ticks since boot, /proc/<pid>/stat field 22) and boot id make (pid, start) unique; the command
 * line is checked too, as a second look.
 */
export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22, as text (it can exceed 2^53 in principle). */
  startTime: string;
  /** /proc/<pid>/cmdline, arguments joined by NUL. */
  cmdline: string;
  /** /proc/sys/kernel/random/boot_id: start times restart at 0 with every boot. */
  bootId: string;
}

/** What a recorded identity finds at its pid now. */
export type IdentityCheck =
  /** The very process that was recorded. */
  | 'same'
  /** No process has the pid (members of its process group may still live: the pid stays theirs). */
  | 'gone'
  /** Another process has the pid now: it must not be signalled. */
  | 'replaced';

/** The start time field of a /proc/<pid>/stat line; the command name may hold spaces and parentheses. */
export function parseStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the command name start with field 3 (state); the start time is field 22.
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const start = fields[22 - 3];
  return start && /^\d+$/.test(start) ? start : undefined;
}

/** The identity of a live process, or undefined when there is none with this pid. */
export function readIdentity(pid: number, procRoot = '/proc'): ProcessIdentity | undefined {
  try {
    const startTime = parseStartTime(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
    if (startTime === undefined) return undefined;
    const cmdline = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
    const bootId = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim();
    return { pid, startTime, cmdline, bootId };
  } catch {
    return undefined;
  }
}

/** Compares what was recorded with what has the pid now (pure: `now` is readIdentity's answer). */
export function compareIdentity(recorded: ProcessIdentity, now: ProcessIdentity | undefined): IdentityCheck {
  if (!now) return 'gone';
  const same =
    now.pid === recorded.pid &&
    now.startTime === recorded.startTime &&
    now.bootId === recorded.bootId &&
    now.cmdline === recorded.cmdline;
  return same ? 'same' : 'replaced';
}

export function checkIdentity(recorded: ProcessIdentity, procRoot = '/proc'): IdentityCheck {
  return compareIdentity(recorded, readIdentity(recorded.pid, procRoot));
}

/**
 * Signals the process group a recorded process leads, only when it is still that process, or when
 * its pid is free but its group lives on (Linux does not hand out a pid still used as a process
 * group id, so that group is the recorded one's). Never signals a pid that another process has now.
 */
export function signalRecorded(
  recorded: ProcessIdentity,
  sig: NodeJS.Signals,
  procRoot = '/proc',
): IdentityCheck {
  const check = checkIdentity(recorded, procRoot);
  if (check === 'replaced') return check;
  try {
    process.kill(-recorded.pid, sig);
  } catch {
    // No such group. The very process (not leading a group after all) may still be signalled;
    // a free pid never is: it could be handed out between the look and the signal.
    if (check === 'same') {
      try {
        process.kill(recorded.pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  }
  return check;
}

/** Whether anything of a recorded process is left: itself, or members of the group it led. */
export function recordedAlive(recorded: ProcessIdentity, procRoot = '/proc'): boolean {
  const check = checkIdentity(recorded, procRoot);
  if (check !== 'gone') return check === 'same';
  try {
    process.kill(-recorded.pid, 0);
    return true;
  } catch {
    return false;
  }
}
