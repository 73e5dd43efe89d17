import { spawn } from 'node:child_process';

export interface BoundedRunOptions {
  bin: string;
  args: readonly string[];
  /** The child's whole environment (nothing is inherited). */
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** Past it the process group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  killGraceMs: number;
  /** Aborting it ends the run as the timeout does. */
  signal?: AbortSignal | undefined;
  /** stdout beyond this many characters ends the run (outputTooLarge). */
  maxStdoutChars: number;
  /** Only this many of stderr's last characters are kept. */
  maxStderrChars: number;
  /**
   * How long the pipes may stay open after the process exited on its own: a child it left behind
   * holding them must not hold the run. Past it the group is killed and the pipes are cut. Default 2 s.
   */
  pipeGraceMs?: number;
  /**
   * Runs it through `nice -n <niceness>` (`niceBin`), so every thread it starts has that CPU
   * priority from its first instruction (setpriority after the spawn would miss the threads a Go
   * runtime starts at once). 0 or absent: as this process.
   */
  niceness?: number;
  /** Absolute path of nice(1) (the child's environment has no PATH). Default /usr/bin/nice. */
  niceBin?: string;
  /** Called once the process is started (pid undefined when it could not be). */
  onSpawn?(pid: number | undefined): void;
}

export interface BoundedRun {
  pid: number | undefined;
  stdout: string;
  stderr: string;
  /** Undefined when a signal ended it, or it never started. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  timedOut: boolean;
  aborted: boolean;
  outputTooLarge: boolean;
  /** SIGTERM did not end the process within killGraceMs: it got SIGKILL. */
  forceKilled: boolean;
  /** Something (a child left behind) still held the pipes when the run ended; they were cut. */
  pipesCut: boolean;
  /** spawn failed (no such binary, not executable, bad cwd). */
  spawnError: Error | undefined;
}

const DEFAULT_PIPE_GRACE_MS = 2_000;
export const DEFAULT_NICE_BIN = '/usr/bin/nice';

/**
 * Runs a program to completion with every way of hanging bounded. The child leads its own process
 * group (`detached`), so whatever it starts is signalled with it: at the timeout, on abort or when
 * stdout overflows the group gets SIGTERM, then SIGKILL after killGraceMs. Once the process has
 * exited, its pipes are not waited for beyond pipeGraceMs (at once when we killed it): a child that
 * keeps stdout open would otherwise keep the run, and the scan slot, forever. The result is always
 * returned, never thrown; the caller decides what a failure means.
 */
export function runBounded(o: BoundedRunOptions): Promise<BoundedRun> {
  const result: BoundedRun = {
    pid: undefined,
    stdout: '',
    stderr: '',
    exitCode: undefined,
    signal: undefined,
    timedOut: false,
    aborted: false,
    outputTooLarge: false,
    forceKilled: false,
    pipesCut: false,
    spawnError: undefined,
  };
  if (o.signal?.aborted) {
    o.onSpawn?.(undefined);
    return Promise.resolve({ ...result, aborted: true });
  }
  const pipeGraceMs = o.pipeGraceMs ?? DEFAULT_PIPE_GRACE_MS;
  return new Promise<BoundedRun>((resolve) => {
    const stdout: string[] = [];
    let stdoutChars = 0;
    let stderr = '';
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    let terminating = false;
    let exited = false;
    let finished = false;

    const [bin, args] =
      o.niceness && o.niceness > 0
        ? [o.niceBin ?? DEFAULT_NICE_BIN, ['-n', String(o.niceness), o.bin, ...o.args]]
        : [o.bin, [...o.args]];
    // nice execs the program: the pid, and the process group it leads, are the program's.
    const child = spawn(bin, args, {
      env: { ...o.env },
      cwd: o.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pid = child.pid;
    result.pid = pid;
    o.onSpawn?.(pid);

    const finish = () => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      // Nothing of the child may keep this process alive or its handlers waiting.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve({ ...result, stdout: stdout.join(''), stderr: stderr.slice(-o.maxStderrChars) });
    };

    const cutPipes = () => {
      if (finished) return;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      result.pipesCut = !(child.stdout?.readableEnded ?? true) || !(child.stderr?.readableEnded ?? true);
      finish();
    };

    const terminate = () => {
      if (terminating || finished || pid === undefined) return;
      terminating = true;
      killGroup(pid, 'SIGTERM');
      later(o.killGraceMs, () => {
        if (exited) return;
        result.forceKilled = true;
        killGroup(pid, 'SIGKILL');
        // A process that SIGKILL does not end (stuck in the kernel) is given up on, not waited for.
        later(o.killGraceMs, cutPipes);
      });
    };

    function onAbort() {
      result.aborted = true;
      terminate();
    }

    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (result.outputTooLarge) return;
      stdoutChars += chunk.length;
      if (stdoutChars > o.maxStdoutChars) {
        result.outputTooLarge = true;
        terminate();
        return;
      }
      stdout.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 2 * o.maxStderrChars) stderr = stderr.slice(-o.maxStderrChars);
    });
    // A destroyed or broken pipe is no reason to fail: the exit status says how the run went.
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});

    child.once('error', (err) => {
      // spawn failed: there is no process (an error after a start is followed by 'exit').
      if (pid === undefined) {
        result.spawnError = err;
        finish();
      }
    });
    child.once('exit', (code, signal) => {
      exited = true;
      result.exitCode = code ?? undefined;
      result.signal = signal ?? undefined;
      // We ended it: what it printed since is of no use, and a child holding the pipes must not hold us.
      if (terminating) cutPipes();
      else later(pipeGraceMs, cutPipes);
    });
    child.once('close', finish);

    later(o.timeoutMs, () => {
      result.timedOut = true;
      terminate();
    });
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Signals a process group; quietly does nothing when it is gone. */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
}
