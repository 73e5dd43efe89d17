import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError, StackErrorCode } from './errors.ts';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (for whatever reason). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the log, for error messages. */
  tail(lines?: number): Promise<string>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Kill the child when this Node process dies, even by SIGKILL (prctl
   * PR_SET_PDEATHSIG through util-linux `setpriv`). Off for `stack:up`, whose
   * children must outlive the command that started them.
   */
  dieWithParent?: boolean;
}

/**
 * Starts a long-lived child whose stdout and stderr go straight to a log file
 * (not through a pipe, so it keeps running if we exit). The child leads its
 * own process group so stop() also ends anything it spawned.
 */
export function startProcess(opts: StartOptions): ManagedProcess {
  const fd = openSync(opts.logFile, 'a');
  const [command, args] = opts.dieWithParent
    ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', opts.command, ...opts.args]]
    : [opts.command, [...opts.args]];
  let exitCode: number | null | undefined;
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => {
      exitCode = -1;
      resolve(-1);
    });
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  if (!opts.dieWithParent) child.unref();
  const tail = async (lines = 20) => {
    const text = await readFile(opts.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };
  const stop = async (graceMs = 5000) => {
    if (exitCode !== undefined || child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      killGroup(child.pid, 'SIGKILL');
      await exited;
    }
  };
  return { name: opts.name, pid: child.pid ?? -1, logFile: opts.logFile, exited, stop, tail };
}

/** Signals a process group; quietly does nothing if it is already gone. */
export function killGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Polls `probe` until it returns true, failing early with the process's log
 * tail if it exits, or after `timeoutMs`.
 */
export async function waitReady(
  proc: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) {
      throw new StackError(StackErrorCode.StartFailed, proc.name, 'exited during start-up', {
        logFile: proc.logFile,
        output: await proc.tail(),
      });
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  throw new StackError(StackErrorCode.NotReady, proc.name, `not ready after ${timeoutMs} ms`, {
    logFile: proc.logFile,
    output: await proc.tail(),
    cause: lastError,
  });
}
