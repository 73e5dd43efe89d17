import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_NICE_BIN } from './process-run.ts';
import { decodeWorkerLine, encodeWorkerRequest } from './trivy-workers-protocol.ts';

export interface TrivyWorkersOptions {
  /** `fleetscan-auditor`, run as `fleetscan-auditor trivy` (packages/trivy/go/auditor/cli.go). */
  bin: string;
  /** The workers' working directory (trivy reads trivy.yaml and .trivyignore from it by default). */
  cwd: string;
  /** The workers' own environment; each run brings the whole environment it runs with. */
  env: Readonly<Record<string, string>>;
  /** Idle workers kept, per niceness, for the next runs; a run that finds none starts one. */
  maxIdle: number;
  /** From spawn to the worker's ready line. Default 30 s. */
  startTimeoutMs?: number;
  /** A report larger than this many bytes fails the run (outputTooLarge). */
  maxOutputBytes: number;
  /** nice(1), for workers of runs given a niceness. Default /usr/bin/nice. */
  niceBin?: string;
}

export interface WorkerRunRequest {
  /** trivy's command line, the command first (`image`, `sbom`, `convert`); `--output` is added. */
  args: readonly string[];
  /** The run's whole environment, as a trivy process of its own would get it. */
  env: Readonly<Record<string, string>>;
  /** Start included; past it the worker is killed. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** nice(1) of the worker that runs it (workers of each niceness are kept apart). */
  niceness?: number | undefined;
}

/** How a run ended; never thrown, the caller classifies it (as runBounded's result). */
export interface WorkerRunResult {
  pid: number | undefined;
  /** The report, when the run succeeded. */
  output: string;
  /** What trivy returned instead of a report (its CLI prints it after "Fatal error"). */
  error: string | undefined;
  timedOut: boolean;
  aborted: boolean;
  outputTooLarge: boolean;
  /** The worker died during the run, or could not start: how, and the tail of its stderr. */
  crashed: { exitCode?: number; signal?: NodeJS.Signals; stderr: string; spawnError?: Error } | undefined;
}

export interface TrivyWorkers {
  run(req: WorkerRunRequest): Promise<WorkerRunResult>;
  /**
   * Starts a worker of this niceness now, kept idle for the next run (unless maxIdle are idle
   * already): the first run then pays no start. A run that comes while it starts takes it.
   */
  warm(niceness?: number): void;
  /** Ends the idle workers; runs in progress are killed when they end, not waited for. */
  close(): Promise<void>;
}

/**
 * Each worker's own temporary directory (its TMPDIR, where trivy unpacks layers). Touched at every
 * run, so that a sweep of those older than a run can last removes only what no live worker uses,
 * or one idle since: the worker makes it again for its next run.
 */
export const TRIVY_WORKER_DIR_PREFIX = 'fleetscan-trivy-';

const DEFAULT_START_TIMEOUT_MS = 30_000;
const STDERR_TAIL_CHARS = 16_000;
const STDERR_DRAIN_MS = 200;
// A response is an id and, at most, trivy's error message.
const MAX_LINE_CHARS = 4 * 1024 * 1024;

interface Worker {
  child: ChildProcess;
  niceness: number;
  /** Its own temporary directory, every run's TMPDIR: removed once it is gone, whatever it left. */
  tmpDir: string;
  /** Its ready line came; rejects when anything else came first or it is gone. */
  ready: Promise<void>;
  /** Resolves with the next protocol line, or rejects once the worker is gone. */
  nextLine(): Promise<string>;
  gone(): Gone | undefined;
  /** The tail of what it printed to stderr (trivy's logs). */
  stderr(): string;
  kill(): void;
}

interface Gone {
  exitCode?: number;
  signal?: NodeJS.Signals;
  spawnError?: Error;
  stderr: string;
  /** It printed something that is not a protocol line, or a line too long. */
  reason?: string;
}

/**
 * Long-lived `fleetscan-auditor trivy` processes that run trivy's own commands in-process, one run
 * at a time each: a run costs trivy's work, not its start-up. A run takes an idle worker of its
 * niceness or starts one; afterwards the worker is kept (up to maxIdle per niceness) or ended.
 * Whatever goes wrong in a run (timeout, abort, a death, a line that is not the protocol) kills
 * that worker's process group, so no run ever waits for another's leftovers.
 */
export function createTrivyWorkers(o: TrivyWorkersOptions): TrivyWorkers {
  const idle = new Map<number, Worker[]>();
  const startTimeoutMs = o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let closed = false;
  let nextId = 1;

  const park = (w: Worker) => {
    const list = idle.get(w.niceness) ?? [];
    if (closed || w.gone() || list.length >= o.maxIdle) {
      end(w);
      return;
    }
    list.push(w);
    idle.set(w.niceness, list);
  };
  const takeIdle = (niceness: number): Worker | undefined => {
    const list = idle.get(niceness) ?? [];
    for (let w = list.pop(); w; w = list.pop()) {
      if (!w.gone()) return w;
    }
    return undefined;
  };

  async function run(req: WorkerRunRequest): Promise<WorkerRunResult> {
    const result: WorkerRunResult = {
      pid: undefined,
      output: '',
      error: undefined,
      timedOut: false,
      aborted: false,
      outputTooLarge: false,
      crashed: undefined,
    };
    if (req.signal?.aborted || closed) return { ...result, aborted: true };
    // Each way a run can end early rejects this; its worker is then killed, never reused.
    let stop = () => {};
    const guard = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Ended('timedOut')), req.timeoutMs);
      const onAbort = () => reject(new Ended('aborted'));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      stop = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
    });
    guard.catch(() => {});
    let dir: string | undefined;
    let worker: Worker | undefined;
    try {
      // Named like the scanner's scratch directories, so that its sweep removes those a kill left.
      dir = await mkdtemp(join(tmpdir(), 'fleetscan-scan-'));
      const outFile = join(dir, 'report.json');
      const niceness = req.niceness ?? 0;
      worker = takeIdle(niceness) ?? launch(o, niceness, startTimeoutMs);
      result.pid = worker.child.pid;
      const now = new Date();
      void utimes(worker.tmpDir, now, now).catch(() => {});
      await Promise.race([worker.ready, guard]);
      const id = nextId++;
      const [command = '', ...rest] = req.args;
      worker.child.stdin?.write(
        encodeWorkerRequest({
          id,
          args: [command, '--output', outFile, ...rest],
          env: { ...req.env, TMPDIR: worker.tmpDir },
        }),
      );
      const response = decodeWorkerLine(await Promise.race([worker.nextLine(), guard]));
      if (response.kind !== 'response' || response.id !== id) {
        throw new Error(`answered ${JSON.stringify(response)} to request ${id}`);
      }
      if (response.error !== undefined) {
        park(worker);
        return { ...result, error: response.error };
      }
      // Parked only once its report is read: a worker that said it wrote one and did not is not reused.
      const tooLarge = (await stat(outFile)).size > o.maxOutputBytes;
      const output = tooLarge ? '' : await readFile(outFile, 'utf8');
      park(worker);
      return { ...result, output, outputTooLarge: tooLarge };
    } catch (err) {
      if (err instanceof Ended) {
        worker?.kill();
        return { ...result, [err.how]: true };
      }
      const gone = worker?.gone();
      worker?.kill();
      const reason = gone ? gone.reason : String(err instanceof Error ? err.message : err);
      const stderr = gone?.stderr ?? worker?.stderr() ?? '';
      return {
        ...result,
        crashed: {
          ...(gone?.exitCode !== undefined && { exitCode: gone.exitCode }),
          ...(gone?.signal !== undefined && { signal: gone.signal }),
          ...(gone?.spawnError && { spawnError: gone.spawnError }),
          stderr: reason ? `${stderr}\nfleetscan: the trivy worker ${reason}` : stderr,
        },
      };
    } finally {
      stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    run,
    warm(niceness = 0) {
      if (closed || (idle.get(niceness)?.length ?? 0) >= o.maxIdle) return;
      try {
        park(launch(o, niceness, startTimeoutMs));
      } catch {
        // no temporary directory: the next run reports it
      }
    },
    async close() {
      closed = true;
      for (const list of idle.values()) for (const w of list) end(w);
      idle.clear();
    },
  };
}

/** A run ended by its timeout or its signal. */
class Ended extends Error {
  readonly how: 'timedOut' | 'aborted';
  constructor(how: 'timedOut' | 'aborted') {
    super(how);
    this.how = how;
  }
}

/** Closes its stdin: it exits once its run (if any) is over; killed if it has not within 5 s. */
function end(w: Worker): void {
  w.child.stdin?.end();
  setTimeout(() => {
    if (!w.gone()) w.kill();
  }, 5_000).unref();
}

/**
 * Starts a worker in its own process group, at `niceness`, reading its stdout as lines. trivy
 * keeps one temporary directory per process for the layers and files it unpacks; the worker's is
 * made inside a directory of its own, so that one a kill interrupted is removed with it.
 */
function launch(o: TrivyWorkersOptions, niceness: number, startTimeoutMs: number): Worker {
  const tmpDir = mkdtempSync(join(tmpdir(), TRIVY_WORKER_DIR_PREFIX));
  const worker = [o.bin, 'trivy', '-tmpdir', tmpDir];
  const [bin, args] =
    niceness > 0
      ? [o.niceBin ?? DEFAULT_NICE_BIN, ['-n', String(niceness), ...worker]]
      : [o.bin, worker.slice(1)];
  const child = spawn(bin, args, {
    cwd: o.cwd,
    env: { ...o.env, TMPDIR: tmpDir },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stderrTail = '';
  let gone: Gone | undefined;
  const lines: string[] = [];
  let waiting: { resolve(line: string): void; reject(e: unknown): void } | undefined;
  let partial = '';
  const die = (g: Omit<Gone, 'stderr'>) => {
    if (gone) return;
    gone = { ...g, stderr: stderrTail };
    waiting?.reject(new Error('worker gone'));
    waiting = undefined;
    void rm(tmpDir, { recursive: true, force: true }).catch(() => {});
  };
  // The group, even when the worker itself has exited: whatever it started may still run.
  const kill = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderrTail = (stderrTail + s).slice(-STDERR_TAIL_CHARS);
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (s: string) => {
    partial += s;
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (waiting) {
        waiting.resolve(line);
        waiting = undefined;
      } else lines.push(line);
    }
    if (partial.length > MAX_LINE_CHARS) {
      die({ reason: `printed a line over ${MAX_LINE_CHARS} characters` });
      kill();
    }
  });
  child.stdin?.on('error', () => {}); // EPIPE when it died: reported through exit.
  child.on('error', (err) => die({ spawnError: err }));
  child.on('exit', (code, signal) => {
    const how = { ...(code !== null && { exitCode: code }), ...(signal !== null && { signal }) };
    // What it printed last (a panic) may still be in the pipe: read it first, for a short while.
    if (child.stderr?.readableEnded ?? true) die(how);
    else {
      const done = () => die(how);
      child.stderr?.once('end', done);
      setTimeout(done, STDERR_DRAIN_MS).unref();
    }
  });
  // An idle worker must not keep the scanner alive (a run's timer does while it runs).
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as { unref?(): void } | null)?.unref?.();
  const nextLine = (): Promise<string> => {
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (gone) return Promise.reject(new Error('worker gone'));
    return new Promise((resolve, reject) => {
      waiting = { resolve, reject };
    });
  };
  // Bounded on its own, so that a worker started ahead of any run cannot sit unready for ever.
  let startTimer: NodeJS.Timeout | undefined;
  const ready = Promise.race([
    nextLine().then((line) => {
      if (decodeWorkerLine(line).kind !== 'ready') throw new Error('answered before its ready line');
    }),
    new Promise<never>((_, reject) => {
      startTimer = setTimeout(() => reject(new Ended('timedOut')), startTimeoutMs);
      startTimer.unref();
    }),
  ]).finally(() => clearTimeout(startTimer));
  ready.catch(() => kill());
  return {
    child,
    niceness,
    tmpDir,
    ready,
    nextLine,
    gone: () => gone,
    stderr: () => stderrTail,
    kill,
  };
}
