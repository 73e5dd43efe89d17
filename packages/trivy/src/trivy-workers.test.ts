import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alive } from './testing/processes.ts';
import {
  createTrivyWorkers,
  type TrivyWorkers,
  type TrivyWorkersOptions,
  type WorkerRunRequest,
} from './trivy-workers.ts';

// The process wire is faked with a small node script standing in for `fleetscan-auditor trivy`
// (packages/trivy/go/auditor/cli.go): it prints its ready line, then answers each request line as
// the run's env asks (FAKE_DO), writing a report of what it was asked into the --output file. The
// real worker runs in test/integration/trivy-workers.test.ts.

let dir: string;
let bin: string;
let cwd: string;
const pools: TrivyWorkers[] = [];

const FAKE = `#!/usr/bin/env node
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const log = (s) => fs.appendFileSync(process.env.FAKE_LOG, s + '\\n');
const niceness = () => Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]);
log('start ' + process.pid + ' ' + process.argv.slice(2).join(' '));
if (process.env.FAKE_START === 'crash') { process.stderr.write('cannot open the trivy cache\\n'); process.exit(3); }
if (process.env.FAKE_START !== 'hang') console.log(JSON.stringify({ ready: { trivy: '0.74.0' } }));
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let nl = buf.indexOf('\\n'); nl >= 0; nl = buf.indexOf('\\n')) {
    const req = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    log('request ' + process.pid + ' ' + req.id);
    const out = req.args[req.args.indexOf('--output') + 1];
    const respond = (r) => console.log(JSON.stringify(r));
    const report = () => fs.writeFileSync(out, JSON.stringify({
      pid: process.pid, args: req.args, env: req.env, cwd: process.cwd(), nice: niceness(),
      workerMark: process.env.FAKE_WORKER_MARK, ownTmp: process.env.TMPDIR,
    }));
    // As trivy's temp dir of unpacked layers: under the run's TMPDIR, left by a kill.
    if (req.env.FAKE_TMP) fs.mkdirSync(req.env.TMPDIR + '/trivy-' + process.pid + '/image-layers-' + req.id, { recursive: true });
    switch (req.env.FAKE_DO) {
      case 'hang': {
        // A grandchild in the same process group: killing the group must take it too.
        const child = spawn('sleep', ['60'], { stdio: 'ignore' });
        log('grandchild ' + child.pid);
        log('hanging ' + process.pid);
        return;
      }
      case 'wait':
        log('waiting ' + process.pid);
        return;
      case 'crash-leaving-child': {
        const child = spawn('sleep', ['60'], { stdio: 'ignore' });
        log('grandchild ' + child.pid);
        process.stderr.write('panic: runtime error: invalid memory address\\n');
        process.exit(2);
      }
      case 'slow':
        log('running ' + process.pid);
        setTimeout(() => { report(); respond({ id: req.id }); }, Number(req.env.FAKE_MS));
        return;
      case 'crash':
        report();
        process.stderr.write('panic: runtime error: invalid memory address\\n');
        process.exit(2);
      case 'error':
        respond({ id: req.id, error: 'unable to find the specified image "nope"' });
        continue;
      case 'garbage':
        report();
        process.stderr.write('some log line\\n');
        console.log('2026-01-01T00:00:00Z INFO this went to stdout');
        return;
      case 'other-id':
        report();
        respond({ id: req.id + 1 });
        return;
      case 'no-report':
        respond({ id: req.id });
        continue;
      case 'long-line':
        report();
        process.stdout.write('x'.repeat(4 * 1024 * 1024 + 10));
        return;
      case 'big':
        fs.writeFileSync(out, 'x'.repeat(Number(req.env.FAKE_SIZE)));
        respond({ id: req.id });
        continue;
      default:
        report();
        respond({ id: req.id });
    }
  }
});
process.stdin.on('end', () => { log('stdin closed ' + process.pid); process.exit(0); });
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-workers-unit-'));
  bin = join(dir, 'fake-auditor');
  await writeFile(bin, FAKE);
  await chmod(bin, 0o755);
  cwd = join(dir, 'cwd');
  await mkdir(cwd);
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(over: Partial<TrivyWorkersOptions> = {}, env: Record<string, string> = {}) {
  const logFile = join(dir, `log-${Math.random().toString(36).slice(2)}`);
  await writeFile(logFile, '');
  const pool = createTrivyWorkers({
    bin,
    cwd,
    env: { PATH: process.env.PATH ?? '', FAKE_LOG: logFile, FAKE_WORKER_MARK: 'worker-env', ...env },
    maxIdle: 1,
    maxOutputBytes: 1_000_000,
    ...over,
  });
  pools.push(pool);
  const log = async () => (await readFile(logFile, 'utf8')).trim().split('\n').filter(Boolean);
  const starts = async () => (await log()).filter((l) => l.startsWith('start '));
  return { pool, log, starts };
}

/** A run of `image nginx:1.20`, its env asking the fake to do `todo` (a plain report by default). */
function req(env: Record<string, string> = {}, over: Partial<WorkerRunRequest> = {}): WorkerRunRequest {
  return {
    args: ['image', '--quiet', 'nginx:1.20'],
    env: { HOME: '/home/scanner', ...env },
    timeoutMs: 10_000,
    ...over,
  };
}

interface Report {
  pid: number;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  nice: number;
  workerMark: string;
  /** The worker's own TMPDIR. */
  ownTmp: string;
}
const report = (output: string) => JSON.parse(output) as Report;

/** The nice value of a live process, field 19 of /proc/<pid>/stat. */
async function niceOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const POLL = { timeout: 10_000 };

/**
 * The fake workers this process started that are still running: spawn returns once the program is
 * exec'd, so a worker started synchronously is here at once.
 */
function fakeChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(bin)) {
        pids.push(Number(entry));
      }
    } catch {
      // Gone while listed.
    }
  }
  return pids.sort((a, b) => a - b);
}

// Polls wait up to POLL's 10 s: a test's own limit is above it, so that a poll fails as itself.
describe('createTrivyWorkers', { timeout: 30_000 }, () => {
  it("runs trivy's command with --output right after it and returns the report, in a temp dir it removes", async () => {
    const { pool, starts } = await setup();
    const r = await pool.run(req({ TRIVY_USERNAME: 'u', TRIVY_PASSWORD: 'p' }));
    expect(r).toMatchObject({
      error: undefined,
      timedOut: false,
      aborted: false,
      outputTooLarge: false,
      crashed: undefined,
    });
    const rep = report(r.output);
    expect(rep.pid).toBe(r.pid);
    expect(rep.args).toEqual(['image', '--output', expect.any(String), '--quiet', 'nginx:1.20']);
    const out = rep.args[2] as string;
    expect(out.startsWith(join(tmpdir(), 'fleetscan-scan-'))).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(out, '..'))).toBe(false);
    // The run's whole env is sent with the request, TMPDIR the worker's own; the worker itself has
    // the pool's env and cwd.
    expect(rep.env).toEqual({
      HOME: '/home/scanner',
      TRIVY_USERNAME: 'u',
      TRIVY_PASSWORD: 'p',
      TMPDIR: rep.ownTmp,
    });
    expect(rep.ownTmp.startsWith(join(tmpdir(), 'fleetscan-trivy-'))).toBe(true);
    expect(rep.workerMark).toBe('worker-env');
    expect(rep.cwd).toBe(cwd);
    expect(await starts()).toEqual([`start ${r.pid} trivy -tmpdir ${rep.ownTmp}`]);
  });

  it('sends a command given alone with --output after it', async () => {
    const { pool } = await setup();
    const r = await pool.run(req({}, { args: ['version'] }));
    expect(report(r.output).args).toEqual(['version', '--output', expect.any(String)]);
  });

  it('keeps a worker for the next run with maxIdle 1', async () => {
    const { pool, starts } = await setup({ maxIdle: 1 });
    const a = await pool.run(req({ RUN: 'a' }));
    const b = await pool.run(req({ RUN: 'b' }));
    expect(a.pid).toBeTypeOf('number');
    expect(b.pid).toBe(a.pid);
    expect(report(a.output).env.RUN).toBe('a');
    expect(report(b.output).env.RUN).toBe('b');
    // Each run writes to a temp dir of its own.
    expect(report(a.output).args[2]).not.toBe(report(b.output).args[2]);
    expect(await starts()).toHaveLength(1);
  });

  it('starts a worker per run with maxIdle 0, ending each through its stdin', async () => {
    const { pool, log, starts } = await setup({ maxIdle: 0 });
    const a = await pool.run(req());
    await expect.poll(async () => (await log()).includes(`stdin closed ${a.pid}`), POLL).toBe(true);
    await expect.poll(() => alive(a.pid as number), POLL).toBe(false);
    const b = await pool.run(req());
    expect(b.pid).not.toBe(a.pid);
    expect(report(b.output).pid).toBe(b.pid);
    await expect.poll(async () => (await log()).includes(`stdin closed ${b.pid}`), POLL).toBe(true);
    expect(await starts()).toHaveLength(2);
  });

  it('runs concurrent runs on workers of their own, keeping up to maxIdle of them', async () => {
    const { pool, starts } = await setup({ maxIdle: 2 });
    const slow = { FAKE_DO: 'slow', FAKE_MS: '300' };
    const [a, b] = await Promise.all([pool.run(req(slow)), pool.run(req(slow))]);
    expect(a.pid).not.toBe(b.pid);
    expect([report(a.output).pid, report(b.output).pid]).toEqual([a.pid, b.pid]);
    const c = await pool.run(req());
    expect([a.pid, b.pid]).toContain(c.pid);
    expect(await starts()).toHaveLength(2);
  });

  it('starts a worker ahead of the first run with warm(), which that run takes while it starts', async () => {
    const { pool, starts } = await setup({ maxIdle: 1 });
    const before = fakeChildren();
    pool.warm();
    // A child is listed by its command line once it has exec'd, which may come after spawn returns.
    const started = () => fakeChildren().filter((p) => !before.includes(p));
    await expect.poll(() => started().length, POLL).toBe(1);
    const warmed = started();
    // The run takes it, whether or not its ready line has come yet.
    const r = await pool.run(req());
    expect(r.crashed).toBeUndefined();
    expect(r.pid).toBe(warmed[0]);
    expect(report(r.output).pid).toBe(r.pid);
    expect(await starts()).toEqual([`start ${r.pid} trivy -tmpdir ${report(r.output).ownTmp}`]);
  });

  it('warm() starts a worker of its niceness only while fewer than maxIdle of it are idle', async () => {
    const { pool, starts } = await setup({ maxIdle: 1 });
    pool.warm();
    await expect.poll(async () => (await starts()).length, POLL).toBe(1);
    const before = fakeChildren();
    pool.warm();
    pool.warm(0);
    expect(fakeChildren()).toEqual(before);
    pool.warm(5);
    const started = () => fakeChildren().filter((p) => !before.includes(p));
    await expect.poll(() => started().length, POLL).toBe(1);
    const niced = started();
    const r = await pool.run(req({}, { niceness: 5 }));
    expect(r.pid).toBe(niced[0]);
    expect(report(r.output).nice).toBe(Math.min((await niceOf(process.pid)) + 5, 19));
    expect(await starts()).toHaveLength(2);
    const none = await setup({ maxIdle: 0 });
    const noneBefore = fakeChildren();
    none.pool.warm();
    expect(fakeChildren()).toEqual(noneBefore);
    await pool.close();
    pool.warm();
    expect(fakeChildren().filter((p) => !before.includes(p) && p !== niced[0])).toEqual([]);
  });

  it('gives up on a worker warm() started that never gets ready, killing it', async () => {
    const { pool, starts } = await setup({ startTimeoutMs: 300 }, { FAKE_START: 'hang' });
    pool.warm();
    await expect.poll(async () => (await starts()).length, POLL).toBe(1);
    const pid = Number((await starts())[0]?.split(' ')[1]);
    await expect.poll(() => alive(pid), POLL).toBe(false);
  });

  it('keeps workers of each niceness apart, a niced one under nice', async () => {
    const { pool } = await setup({ maxIdle: 1 });
    const niced = await pool.run(req({}, { niceness: 5 }));
    const plain = await pool.run(req({}, { niceness: 0 }));
    const unset = await pool.run(req());
    expect(niced.pid).toBeTypeOf('number');
    expect(plain.pid).not.toBe(niced.pid);
    // No niceness is niceness 0.
    expect(unset.pid).toBe(plain.pid);
    const base = await niceOf(process.pid);
    expect(report(niced.output).nice).toBe(Math.min(base + 5, 19));
    expect(report(plain.output).nice).toBe(base);
    // nice execs the worker: the pid is the worker's, idle now at its niceness.
    expect(await niceOf(niced.pid as number)).toBe(Math.min(base + 5, 19));
    const again = await pool.run(req({}, { niceness: 5 }));
    expect(again.pid).toBe(niced.pid);
  });

  it('runs a niced worker through niceBin when given', async () => {
    const nice = join(dir, 'fake-nice');
    await writeFile(
      nice,
      `#!/bin/sh\necho "nice $*" >> "$FAKE_LOG"\nshift 2\nexec /usr/bin/nice -n 3 "$@"\n`,
    );
    await chmod(nice, 0o755);
    const { pool, log } = await setup({ niceBin: nice });
    const r = await pool.run(req({}, { niceness: 7 }));
    expect(r.crashed).toBeUndefined();
    expect(await log()).toContain(`nice -n 7 ${bin} trivy -tmpdir ${report(r.output).ownTmp}`);
    expect(report(r.output).nice).toBe(Math.min((await niceOf(process.pid)) + 3, 19));
  });

  it("returns trivy's error with no report, keeping the worker", async () => {
    const { pool, starts } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'error' }));
    expect(r).toEqual({
      pid: expect.any(Number),
      output: '',
      error: 'unable to find the specified image "nope"',
      timedOut: false,
      aborted: false,
      outputTooLarge: false,
      crashed: undefined,
    });
    const next = await pool.run(req());
    expect(next.pid).toBe(r.pid);
    expect(report(next.output).pid).toBe(r.pid);
    expect(await starts()).toHaveLength(1);
  });

  it('kills the worker with its process group on a timeout, and starts another for the next run', async () => {
    const { pool, log } = await setup();
    const warm = await pool.run(req());
    const r = await pool.run(req({ FAKE_DO: 'hang' }, { timeoutMs: 500 }));
    expect(r).toMatchObject({
      pid: warm.pid,
      timedOut: true,
      aborted: false,
      output: '',
      crashed: undefined,
    });
    const grandchild = Number((await log()).find((l) => l.startsWith('grandchild'))?.split(' ')[1]);
    expect(grandchild).toBeGreaterThan(0);
    await expect.poll(() => alive(warm.pid as number) || alive(grandchild), POLL).toBe(false);
    const next = await pool.run(req());
    expect(next.crashed).toBeUndefined();
    expect(next.pid).not.toBe(warm.pid);
    expect(report(next.output).pid).toBe(next.pid);
  });

  it('gives each worker a TMPDIR of its own for all its runs, removed with what runs left once it is killed', async () => {
    const { pool } = await setup({ maxIdle: 2 });
    const slow = { FAKE_DO: 'slow', FAKE_MS: '200', FAKE_TMP: '1' };
    const [a, b] = (await Promise.all([pool.run(req(slow)), pool.run(req(slow))])).map((r) =>
      report(r.output),
    );
    expect(a?.ownTmp).not.toBe(b?.ownTmp);
    const again = report((await pool.run(req({ FAKE_TMP: '1' }))).output);
    expect([a?.ownTmp, b?.ownTmp]).toContain(again.env.TMPDIR);
    const tmp = again.env.TMPDIR as string;
    expect(readdirSync(join(tmp, `trivy-${again.pid}`))).toHaveLength(2);
    // A timeout kills the worker; its directory goes with it, though it never cleaned up.
    const killed = await pool.run(req({ FAKE_DO: 'hang' }, { timeoutMs: 300 }));
    expect(killed.timedOut).toBe(true);
    const killedTmp = killed.pid === a?.pid ? a?.ownTmp : b?.ownTmp;
    await expect.poll(() => existsSync(killedTmp as string), POLL).toBe(false);
    // The other is removed once it ends at close().
    const otherTmp = killed.pid === a?.pid ? b?.ownTmp : a?.ownTmp;
    expect(existsSync(otherTmp as string)).toBe(true);
    await pool.close();
    await expect.poll(() => existsSync(otherTmp as string), POLL).toBe(false);
  });

  it("touches a worker's directory at each run, so that a sweep of old ones spares it", async () => {
    const { pool } = await setup();
    const tmp = report((await pool.run(req())).output).ownTmp;
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(tmp, hourAgo, hourAgo);
    await pool.run(req());
    await expect.poll(async () => Date.now() - (await stat(tmp)).mtimeMs < 60_000, POLL).toBe(true);
  });

  it('stops a run when its signal aborts, killing the worker', async () => {
    const { pool, log } = await setup();
    const ac = new AbortController();
    const pending = pool.run(req({ FAKE_DO: 'hang' }, { signal: ac.signal }));
    await expect.poll(async () => (await log()).some((l) => l.startsWith('hanging ')), POLL).toBe(true);
    ac.abort();
    const r = await pending;
    expect(r).toMatchObject({ aborted: true, timedOut: false, output: '', crashed: undefined });
    expect(r.pid).toBeTypeOf('number');
    const grandchild = Number((await log()).find((l) => l.startsWith('grandchild'))?.split(' ')[1]);
    await expect.poll(() => alive(r.pid as number) || alive(grandchild), POLL).toBe(false);
    const next = await pool.run(req());
    expect(next.pid).not.toBe(r.pid);
  });

  it('does not start a worker for a run whose signal already aborted', async () => {
    const { pool, starts } = await setup();
    const r = await pool.run(req({}, { signal: AbortSignal.abort() }));
    expect(r).toEqual({
      pid: undefined,
      output: '',
      error: undefined,
      timedOut: false,
      aborted: true,
      outputTooLarge: false,
      crashed: undefined,
    });
    expect(await starts()).toEqual([]);
  });

  it('reports a worker that died during the run, with its exit code and stderr', async () => {
    const { pool } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'crash' }));
    expect(r).toMatchObject({ output: '', error: undefined, timedOut: false, aborted: false });
    expect(r.crashed).toMatchObject({ exitCode: 2 });
    expect(r.crashed?.signal).toBeUndefined();
    expect(r.crashed?.spawnError).toBeUndefined();
    expect(r.crashed?.stderr).toContain('panic: runtime error: invalid memory address');
    const next = await pool.run(req());
    expect(next.crashed).toBeUndefined();
    expect(next.pid).not.toBe(r.pid);
  });

  it('kills the process group of a worker that died during the run', async () => {
    // A death is one of the ways a run goes wrong that kill the worker's process group: what the
    // worker started must not outlive it.
    const { pool, log } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'crash-leaving-child' }));
    expect(r.crashed).toMatchObject({ exitCode: 2 });
    const grandchild = Number((await log()).find((l) => l.startsWith('grandchild'))?.split(' ')[1]);
    expect(grandchild).toBeGreaterThan(0);
    try {
      await expect.poll(() => alive(grandchild), POLL).toBe(false);
    } finally {
      if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });

  it('reports a worker killed during the run by a signal', async () => {
    const { pool, log } = await setup();
    const pending = pool.run(req({ FAKE_DO: 'wait' }));
    await expect.poll(async () => (await log()).some((l) => l.startsWith('waiting ')), POLL).toBe(true);
    const pid = Number((await log()).find((l) => l.startsWith('waiting '))?.split(' ')[1]);
    process.kill(pid, 'SIGTERM');
    const r = await pending;
    expect(r.pid).toBe(pid);
    expect(r.crashed).toMatchObject({ signal: 'SIGTERM' });
    expect(r.crashed?.exitCode).toBeUndefined();
    expect(r).toMatchObject({ timedOut: false, aborted: false, output: '' });
  });

  it('kills a worker that prints a line that is not its protocol', async () => {
    const { pool } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'garbage' }));
    expect(r).toMatchObject({ output: '', error: undefined, timedOut: false, aborted: false });
    // Its stderr is kept too, as far as it was read when the line came (the pipes race).
    expect(r.crashed?.stderr).toContain('the trivy worker printed a line that is not JSON');
    expect(r.crashed?.stderr).toContain('INFO this went to stdout');
    expect(r.crashed?.exitCode).toBeUndefined();
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
    const next = await pool.run(req());
    expect(next.crashed).toBeUndefined();
    expect(next.pid).not.toBe(r.pid);
  });

  it('kills a worker that answers another request', async () => {
    const { pool } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'other-id' }));
    expect(r).toMatchObject({ output: '', error: undefined, timedOut: false, aborted: false });
    expect(r.crashed?.stderr).toMatch(/the trivy worker answered .* to request \d+/);
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
    const next = await pool.run(req());
    expect(next.pid).not.toBe(r.pid);
    expect(next.crashed).toBeUndefined();
  });

  it('kills a worker that prints a line too long', async () => {
    const { pool } = await setup();
    const r = await pool.run(req({ FAKE_DO: 'long-line' }));
    expect(r).toMatchObject({ output: '', error: undefined, timedOut: false, aborted: false });
    expect(r.crashed?.stderr).toContain('the trivy worker printed a line over 4194304 characters');
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
    const next = await pool.run(req());
    expect(next.pid).not.toBe(r.pid);
  });

  it('hands the next run a live worker after a run answered without a report', async () => {
    // The worker answered its request as it should; the run fails for want of a report. Each
    // following run must get a worker that can serve it, not one this run killed.
    const { pool } = await setup();
    for (let i = 0; i < 10; i++) {
      const missing = await pool.run(req({ FAKE_DO: 'no-report' }));
      expect(missing.output).toBe('');
      const next = await pool.run(req());
      expect(next.crashed).toBeUndefined();
      expect(report(next.output).pid).toBe(next.pid);
    }
  });

  it('reports a worker that dies before its ready line, with its exit code and stderr', async () => {
    const { pool, starts } = await setup({}, { FAKE_START: 'crash' });
    const r = await pool.run(req());
    expect(r).toMatchObject({ output: '', timedOut: false, aborted: false });
    expect(r.crashed).toMatchObject({ exitCode: 3 });
    expect(r.crashed?.stderr).toContain('cannot open the trivy cache');
    expect(await starts()).toHaveLength(1);
  });

  it("counts a worker's start in the run's timeout", async () => {
    const { pool } = await setup({}, { FAKE_START: 'hang' });
    const r = await pool.run(req({}, { timeoutMs: 300 }));
    expect(r).toMatchObject({ timedOut: true, aborted: false, crashed: undefined });
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
  });

  it('stops a run whose signal aborts while its worker starts, killing the worker', async () => {
    const { pool, starts } = await setup({}, { FAKE_START: 'hang' });
    const ac = new AbortController();
    const pending = pool.run(req({}, { signal: ac.signal }));
    await expect.poll(async () => (await starts()).length, POLL).toBe(1);
    ac.abort();
    const r = await pending;
    expect(r).toMatchObject({ aborted: true, timedOut: false, crashed: undefined });
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
  });

  it('gives up on a worker that never prints its ready line', async () => {
    const { pool, starts } = await setup({ startTimeoutMs: 300 }, { FAKE_START: 'hang' });
    const r = await pool.run(req());
    expect(r).toMatchObject({ timedOut: true, aborted: false, output: '', crashed: undefined });
    expect(r.pid).toBeTypeOf('number');
    await expect.poll(() => alive(r.pid as number), POLL).toBe(false);
    expect(await starts()).toHaveLength(1);
  });

  it('reports a worker that could not be started', async () => {
    const { pool } = await setup({ bin: join(dir, 'no-such-auditor') });
    const r = await pool.run(req());
    expect(r).toMatchObject({ pid: undefined, output: '', timedOut: false, aborted: false });
    expect(r.crashed?.spawnError).toBeInstanceOf(Error);
    expect(r.crashed?.spawnError).toMatchObject({ code: 'ENOENT' });
  });

  it('fails a run whose report is larger than maxOutputBytes, keeping the worker', async () => {
    const { pool } = await setup({ maxOutputBytes: 1000 });
    const big = await pool.run(req({ FAKE_DO: 'big', FAKE_SIZE: '1001' }));
    expect(big).toMatchObject({ outputTooLarge: true, output: '', crashed: undefined, error: undefined });
    const fits = await pool.run(req({ FAKE_DO: 'big', FAKE_SIZE: '1000' }));
    expect(fits).toMatchObject({ outputTooLarge: false, crashed: undefined });
    expect(fits.output).toBe('x'.repeat(1000));
    expect(fits.pid).toBe(big.pid);
  });

  it('ends idle workers on close() through their stdin, and runs no more', async () => {
    const { pool, log, starts } = await setup({ maxIdle: 2 });
    const slow = { FAKE_DO: 'slow', FAKE_MS: '200' };
    const [a, b] = await Promise.all([pool.run(req(slow)), pool.run(req(slow))]);
    expect(a.pid).not.toBe(b.pid);
    expect(alive(a.pid as number) && alive(b.pid as number)).toBe(true);
    await pool.close();
    for (const pid of [a.pid, b.pid]) {
      await expect.poll(async () => (await log()).includes(`stdin closed ${pid}`), POLL).toBe(true);
      await expect.poll(() => alive(pid as number), POLL).toBe(false);
    }
    const after = await pool.run(req());
    expect(after).toMatchObject({ aborted: true, pid: undefined });
    expect(await starts()).toHaveLength(2);
  });

  it('lets a run in progress at close() finish, then ends its worker', async () => {
    const { pool, log } = await setup();
    const pending = pool.run(req({ FAKE_DO: 'slow', FAKE_MS: '300' }));
    await expect.poll(async () => (await log()).some((l) => l.startsWith('running ')), POLL).toBe(true);
    await pool.close();
    const r = await pending;
    expect(r.crashed).toBeUndefined();
    expect(report(r.output).pid).toBe(r.pid);
    await expect.poll(async () => (await log()).includes(`stdin closed ${r.pid}`), POLL).toBe(true);
  });
});
