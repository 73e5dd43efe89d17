import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AuditOutcome,
  type AuditorReady,
  type AuditorResponse,
  decodeAuditorLine,
  encodeAuditRequest,
  outcomesOf,
} from './auditor-protocol.ts';
import { TrivyError, TrivyErrorCode } from './errors.ts';
import type { TrivyLogger } from './runner.ts';
import { createSerial } from './serial.ts';
import { cleanStderr } from './stderr.ts';

export interface ConfigAuditorOptions {
  /** The audit worker (packages/trivy/go/auditor, `fleetscan-auditor`). */
  bin: string;
  /** Per batch; past it the worker is killed with its process group and the batch fails with TIMEOUT. */
  timeoutMs: number;
  /** Loading and compiling the checks. Default 120 s. */
  startTimeoutMs?: number;
  /** Manifests of a batch the worker audits at once. Default 1. */
  concurrency?: number;
  /**
   * nice(1) of the worker's threads that audit non-urgent batches (they run beside an urgent one);
   * 0 or absent: as the worker.
   */
  bulkNiceness?: number;
  /**
   * Manifests per request at most: a larger batch goes as several requests, one at a time in its
   * lane, so a batch's requests each get the whole timeout. Default 50 (~0.5 s of the worker's time).
   */
  maxRequestManifests?: number;
  /** The worker's GOGC. Default 100 (Go's). */
  gcPercent?: number;
  logger: TrivyLogger;
  /** The worker's whole environment (nothing is inherited). */
  env?: Readonly<Record<string, string>>;
  /** Refuse a response line longer than this. Default 64 M characters. */
  maxLineChars?: number;
  /** After the worker died, failed to start or was killed: the next start waits min × 2^(n-1), at most max. */
  restartBackoff?: { minMs: number; maxMs: number };
  /** Monotonic ms. Default performance.now. */
  now?: () => number;
  /** Waits out the restart backoff. Default node:timers/promises setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface AuditCallOptions {
  includePassed?: boolean;
  signal?: AbortSignal;
  /**
   * A change in a cluster, not a backlog: audited beside the non-urgent request the worker may be
   * busy with, at the worker's own CPU priority (the others run at bulkNiceness).
   */
  urgent?: boolean;
}

export interface ConfigAuditor {
  /**
   * Audits every manifest on its own (the checks that apply are chosen by its kind alone), in
   * one request to the long-lived worker: one outcome per manifest, in order. Rejects with a
   * TrivyError when the batch could not be audited: the worker did not start, died, timed out
   * (TIMEOUT; it is killed) or the signal aborted (ABORTED). The next call starts a new worker,
   * after a backoff.
   */
  audit(manifests: readonly unknown[], opts?: AuditCallOptions): Promise<AuditOutcome[]>;
  /** The trivy release whose checks the worker runs (its ready line); starts it if needed. */
  version(opts?: { signal?: AbortSignal }): Promise<string>;
  /** Whether a worker is up with its checks compiled now (false after it died, until one starts again). */
  running(): boolean;
  /** Closes the worker's stdin (it exits) and kills it if it has not after a grace period. */
  close(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;
const STDERR_TAIL_CHARS = 16_000;
const CLOSE_GRACE_MS = 5_000;
const DEFAULT_MAX_REQUEST_MANIFESTS = 50;

interface Worker {
  child: ChildProcess;
  /** False once it exited (or could not start). */
  alive(): boolean;
  ready: Promise<AuditorReady>;
  /**
   * The response to request `id`, once the worker prints it (the worker answers its two lanes in
   * either order). A line that answers no request waiting, or is not a response, ends the worker.
   */
  response(id: number): Promise<AuditorResponse>;
  /** Why it is gone, once it is. */
  exited: Promise<TrivyError>;
  /**
   * Calls `listener` with why it is gone, once it is (at once if it already is); returns the
   * removal. A batch listens with this, not through `exited`: a reaction added to that promise
   * stays until the worker exits, with everything it holds (a batch's signal, its response).
   */
  onExit(listener: (e: TrivyError) => void): () => void;
  stderr(): string;
  kill(): void;
}

/**
 * Runs the audit worker and supervises it: one request at a time in each of two lanes (urgent and
 * not), each bounded by timeoutMs and by the caller's signal (either kills the worker's whole
 * process group, failing the other lane's request too), a bounded response, and a restart with
 * backoff when the worker is gone. The worker exits by itself when its stdin closes, so it does
 * not outlive the scanner.
 */
export function createConfigAuditor(o: ConfigAuditorOptions): ConfigAuditor {
  const now = o.now ?? (() => performance.now());
  const wait = o.sleep ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal }));
  const backoff = o.restartBackoff ?? { minMs: 1_000, maxMs: 60_000 };
  const maxLineChars = o.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  let worker: Worker | undefined;
  // The worker whose ready line came: running() is true while it is the current one and alive.
  let readyWorker: Worker | undefined;
  let starting: Promise<Worker> | undefined;
  // Workers already counted as failed: both lanes' requests fail when one kills it.
  const counted = new WeakSet<Worker>();
  let failures = 0;
  let notBefore = 0;
  let nextId = 1;
  const lanes = { urgent: createSerial(), bulk: createSerial() };
  const chunkSize = Math.max(1, o.maxRequestManifests ?? DEFAULT_MAX_REQUEST_MANIFESTS);
  const closing = new AbortController();

  const args = [
    '-concurrency',
    String(o.concurrency ?? 1),
    '-gc-percent',
    String(o.gcPercent ?? 100),
    ...(o.bulkNiceness ? ['-bulk-niceness', String(o.bulkNiceness)] : []),
  ];

  function failed(w: Worker): void {
    if (worker === w) worker = undefined;
    w.kill();
    if (counted.has(w)) return;
    counted.add(w);
    failures++;
    notBefore = now() + Math.min(backoff.maxMs, backoff.minMs * 2 ** (failures - 1));
  }

  /** A worker with its checks compiled: the current one, or the one starting (one start for all callers). */
  function started(signal: AbortSignal | undefined): Promise<Worker> {
    if (closing.signal.aborted) {
      return Promise.reject(new TrivyError(TrivyErrorCode.Aborted, 'config auditor: closed'));
    }
    if (worker && !worker.alive() && !starting) {
      o.logger.warn({ pid: worker.child.pid }, 'audit worker exited while idle');
      failed(worker);
    }
    if (worker && worker === readyWorker) return Promise.resolve(worker);
    starting ??= start().finally(() => {
      starting = undefined;
    });
    return untilAborted(starting, signal, 'start');
  }

  /** Bounded by the start timeout and the auditor's close, not by any one caller's signal. */
  async function start(): Promise<Worker> {
    const delay = notBefore - now();
    if (delay > 0) {
      o.logger.debug({ delayMs: Math.round(delay), failures }, 'audit worker: waiting before a restart');
      try {
        await wait(delay, closing.signal);
      } catch (err) {
        throw new TrivyError(TrivyErrorCode.Aborted, 'config auditor: closed', { cause: err });
      }
    }
    const w = launch(o.bin, args, o.env ?? {}, maxLineChars);
    worker = w;
    const startedAt = now();
    try {
      const ready = await bounded(
        w,
        w.ready,
        o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        closing.signal,
        'start',
      );
      readyWorker = w;
      o.logger.debug(
        { pid: w.child.pid, durationMs: Math.round(now() - startedAt), ...ready },
        'audit worker ready',
      );
      return w;
    } catch (err) {
      failed(w);
      throw err;
    }
  }

  /** p, unless the worker dies, time runs out or the signal aborts first (each kills it). */
  async function bounded<T>(
    w: Worker,
    p: Promise<T>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<T> {
    let stop = () => {};
    const guard = new Promise<never>((_, reject) => {
      const offExit = w.onExit(reject);
      const timer = setTimeout(
        () =>
          reject(
            new TrivyError(
              TrivyErrorCode.Timeout,
              `config audit: ${what} timed out after ${timeoutMs} ms, killed`,
              {
                stderr: w.stderr(),
              },
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => reject(new TrivyError(TrivyErrorCode.Aborted, `config audit: ${what} aborted`));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      stop = () => {
        offExit();
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
    });
    try {
      return await Promise.race([p, guard]);
    } finally {
      stop();
    }
  }

  async function auditNow(manifests: readonly unknown[], opts: AuditCallOptions): Promise<AuditOutcome[]> {
    if (opts.signal?.aborted) throw new TrivyError(TrivyErrorCode.Aborted, 'config audit: aborted');
    if (manifests.length === 0) return [];
    const w = await started(opts.signal);
    const id = nextId++;
    const startedAt = now();
    try {
      const response = w.response(id);
      w.child.stdin?.write(encodeAuditRequest(id, manifests, opts.includePassed, !opts.urgent));
      const outcomes = outcomesOf(
        await bounded(w, response, o.timeoutMs, opts.signal, 'batch'),
        id,
        manifests.length,
      );
      failures = 0;
      o.logger.debug(
        { pid: w.child.pid, manifests: manifests.length, durationMs: Math.round(now() - startedAt) },
        'config audit batch answered',
      );
      return outcomes;
    } catch (err) {
      // Whatever went wrong, this worker cannot be trusted to answer the next request.
      failed(w);
      const e =
        err instanceof TrivyError
          ? err
          : new TrivyError(TrivyErrorCode.Failed, `config audit: ${String(err)}`, { cause: err });
      o.logger.warn({ pid: w.child.pid, code: e.code, manifests: manifests.length }, e.message);
      throw e;
    }
  }

  /**
   * One request at a time in the call's lane. A batch larger than a chunk goes as several requests;
   * after one fails, the rest are not sent.
   */
  function audit(manifests: readonly unknown[], opts: AuditCallOptions): Promise<AuditOutcome[]> {
    const lane = opts.urgent ? lanes.urgent : lanes.bulk;
    if (manifests.length <= chunkSize) return lane(() => auditNow(manifests, opts));
    let failure: { err: unknown } | undefined;
    const chunks: Promise<AuditOutcome[]>[] = [];
    for (let i = 0; i < manifests.length; i += chunkSize) {
      const chunk = manifests.slice(i, i + chunkSize);
      chunks.push(
        lane(async () => {
          if (failure) throw failure.err;
          try {
            return await auditNow(chunk, opts);
          } catch (err) {
            failure ??= { err };
            throw err;
          }
        }),
      );
    }
    return Promise.all(chunks).then((parts) => parts.flat());
  }

  return {
    audit(manifests, opts = {}) {
      return audit(manifests, opts);
    },
    async version(opts = {}) {
      return (await (await started(opts.signal)).ready).trivy;
    },
    running() {
      return worker !== undefined && worker === readyWorker && worker.alive();
    },
    async close() {
      closing.abort();
      const w = worker;
      worker = undefined;
      if (!w) return;
      w.child.stdin?.end();
      const gone = await Promise.race([w.exited.then(() => true), sleep(CLOSE_GRACE_MS).then(() => false)]);
      if (!gone) w.kill();
    },
  };
}

/** p, or an ABORTED TrivyError once the signal aborts (p goes on for whoever else waits for it). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  const aborted = () => new TrivyError(TrivyErrorCode.Aborted, `config audit: ${what} aborted`);
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Starts the worker in its own process group, reading its stdout as lines and keeping a tail of stderr. */
function launch(
  bin: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  maxLineChars: number,
): Worker {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...env } });
  let stderrTail = '';
  let firstLine: ((line: string) => void) | undefined;
  const readyLine = new Promise<string>((resolve) => {
    firstLine = resolve;
  });
  // Requests sent and not answered yet, by id.
  const pending = new Map<number, (response: AuditorResponse) => void>();
  let partial: string[] = [];
  let partialLength = 0;
  let exitError: TrivyError | undefined;
  let onExit: (e: TrivyError) => void = () => {};
  const exited = new Promise<TrivyError>((resolve) => {
    onExit = resolve;
  });
  const exitListeners = new Set<(e: TrivyError) => void>();
  const stderr = () => cleanStderr(stderrTail, []);
  const finish = (e: TrivyError) => {
    if (exitError) return;
    exitError = e;
    pending.clear();
    onExit(e);
    for (const l of exitListeners) l(e);
    exitListeners.clear();
  };
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };

  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderrTail = (stderrTail + s).slice(-STDERR_TAIL_CHARS);
  });
  /** The first line is the ready line; each later one answers a request waiting for it, or ends the worker. */
  const onLine = (line: string) => {
    if (firstLine) {
      firstLine(line);
      firstLine = undefined;
      return;
    }
    let decoded: ReturnType<typeof decodeAuditorLine>;
    try {
      decoded = decodeAuditorLine(line);
    } catch (err) {
      finish(err as TrivyError);
      kill();
      return;
    }
    if (decoded.kind !== 'response') {
      finish(new TrivyError(TrivyErrorCode.Failed, 'audit worker printed a second ready line'));
      kill();
      return;
    }
    const { id } = decoded.response;
    const deliver = pending.get(id);
    if (!deliver) {
      finish(
        new TrivyError(TrivyErrorCode.Failed, `audit worker answered request ${id}, which no one waits for`),
      );
      kill();
      return;
    }
    pending.delete(id);
    deliver(decoded.response);
  };
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (s: string) => {
    let rest = s;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      partial.push(rest.slice(0, nl));
      const line = partial.join('');
      partial = [];
      partialLength = 0;
      rest = rest.slice(nl + 1);
      onLine(line);
    }
    if (rest) {
      partial.push(rest);
      partialLength += rest.length;
    }
    if (partialLength > maxLineChars) {
      finish(
        new TrivyError(
          TrivyErrorCode.OutputTooLarge,
          `audit worker printed a line over ${maxLineChars} characters`,
        ),
      );
      kill();
    }
  });
  child.stdin?.on('error', () => {}); // EPIPE when it died: reported through exit.
  child.on('error', (err) =>
    finish(
      new TrivyError(TrivyErrorCode.Failed, `audit worker: could not start ${bin}: ${err.message}`, {
        cause: err,
      }),
    ),
  );
  child.on('exit', (code, signal) =>
    finish(
      new TrivyError(
        TrivyErrorCode.Failed,
        `audit worker exited (${signal ?? `code ${code}`}): ${stderr().split('\n').slice(-3).join(' | ')}`,
        {
          ...(code !== null && { exitCode: code }),
          ...(signal !== null && { signal }),
          stderr: stderr(),
        },
      ),
    ),
  );

  const response = (id: number) =>
    new Promise<AuditorResponse>((resolve) => {
      if (!exitError) pending.set(id, resolve);
    });
  const alive = () => exitError === undefined;
  const ready = readyLine.then((line) => {
    const decoded = decodeAuditorLine(line);
    if (decoded.kind !== 'ready')
      throw new TrivyError(TrivyErrorCode.Failed, 'audit worker answered before it was ready');
    return decoded.ready;
  });
  ready.catch(() => {});
  const onExitOf = (listener: (e: TrivyError) => void) => {
    if (exitError) {
      listener(exitError);
      return () => {};
    }
    exitListeners.add(listener);
    return () => void exitListeners.delete(listener);
  };
  return { child, alive, ready, response, exited, onExit: onExitOf, stderr, kill };
}
