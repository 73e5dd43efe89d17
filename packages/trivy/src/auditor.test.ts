import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryUsage } from 'node:process';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigAuditor, type ConfigAuditorOptions, createConfigAuditor } from './auditor.ts';
import type { AuditOutcome } from './auditor-protocol.ts';
import { TrivyErrorCode } from './errors.ts';
import type { TrivyLogger } from './runner.ts';
import { alive } from './testing/processes.ts';

// The process wire is faked with a small node script standing in for the audit worker: it
// speaks the worker's protocol and does what each manifest asks (`do`). The real worker runs
// in test/integration/auditor.test.ts.

let dir: string;
let bin: string;
const auditors: ConfigAuditor[] = [];

const FAKE = `#!/usr/bin/env node
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const log = (s) => fs.appendFileSync(process.env.FAKE_LOG, s + '\\n');
log('start ' + process.pid + ' ' + process.argv.slice(2).join(' '));
if (process.env.FAKE_START === 'crash') { process.stderr.write('cannot load checks\\n'); process.exit(3); }
if (process.env.FAKE_START !== 'hang') console.log(JSON.stringify({ ready: { trivy: '0.74.0', checks: 563, queries: 164 } }));
let buf = '';
// A bulk request that says 'hold' is answered after the next urgent one, as the worker's two lanes may.
let held;
process.stdin.on('data', (d) => {
  buf += d;
  for (let nl = buf.indexOf('\\n'); nl >= 0; nl = buf.indexOf('\\n')) {
    const req = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    const results = [];
    if (process.env.FAKE_LOG_REQUESTS) log('request ' + req.manifests.map((m) => m.kind).join(',') + (req.bulk ? ' bulk' : ''));
    if (req.bulk && req.manifests[0]?.do === 'hold') { held = req; continue; }
    for (const m of req.manifests) {
      if (m.do === 'hang') {
        // A grandchild in the same process group: killing the group must take it too.
        const child = spawn('sleep', ['60'], { stdio: 'ignore' });
        log('grandchild ' + child.pid);
        return;
      }
      if (m.do === 'crash') process.exit(2);
      if (m.do === 'spam') { process.stdout.write('x'.repeat(5000)); return; }
      if (m.do === 'other-id') { console.log(JSON.stringify({ id: req.id + 1, results: [] })); return; }
      if (m.do === 'invalid') { results.push({ findings: [], error: 'not a Kubernetes manifest' }); continue; }
      results.push({ findings: [{ id: 'KSV-0001', aliases: ['AVD-KSV-0001'], severity: 'MEDIUM', status: req.includePassed ? 'PASS' : 'FAIL', message: m.kind }] });
    }
    console.log(JSON.stringify({ id: req.id, results }));
    if (held && !req.bulk) {
      console.log(JSON.stringify({ id: held.id, results: held.manifests.map((m) => ({ findings: [{ id: 'KSV-0001', severity: 'LOW', status: 'FAIL', message: m.kind }] })) }));
      held = undefined;
    }
  }
});
process.stdin.on('end', () => { log('stdin closed'); process.exit(0); });
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-auditor-'));
  bin = join(dir, 'fake-auditor');
  await writeFile(bin, FAKE);
  await chmod(bin, 0o755);
});
afterEach(async () => {
  await Promise.all(auditors.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quiet: TrivyLogger = { debug: () => {}, warn: () => {} };

async function setup(over: Partial<ConfigAuditorOptions> = {}, env: Record<string, string> = {}) {
  const logFile = join(dir, `log-${Math.random().toString(36).slice(2)}`);
  await writeFile(logFile, '');
  const sleeps: number[] = [];
  const auditor = createConfigAuditor({
    bin,
    timeoutMs: 10_000,
    logger: quiet,
    env: { PATH: process.env.PATH ?? '', FAKE_LOG: logFile, ...env },
    restartBackoff: { minMs: 1000, maxMs: 4000 },
    // A clock that stands still and backoff waits recorded, not slept: the test reads which
    // delays were asked for.
    now: () => 0,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal?.aborted) throw signal.reason;
    },
    ...over,
  });
  auditors.push(auditor);
  const log = async () => (await readFile(logFile, 'utf8')).trim().split('\n').filter(Boolean);
  return { auditor, log, sleeps };
}

const message = (o: AuditOutcome) => ('findings' in o ? o.findings[0]?.message : o.error.code);

describe('createConfigAuditor', () => {
  it('starts one worker and sends it every batch, one outcome per manifest in order', async () => {
    const { auditor, log } = await setup({ concurrency: 2, gcPercent: 300 });
    expect(await auditor.version()).toBe('0.74.0');
    const a = await auditor.audit([{ kind: 'Pod' }, { kind: 'Role', do: 'invalid' }, { kind: 'Service' }]);
    expect(a).toEqual([
      { findings: [expect.objectContaining({ id: 'KSV-0001', message: 'Pod', status: 'FAIL' })] },
      { error: expect.objectContaining({ code: TrivyErrorCode.InvalidManifest, permanent: true }) },
      { findings: [expect.objectContaining({ message: 'Service' })] },
    ]);
    const b = await auditor.audit([{ kind: 'Job' }], { includePassed: true });
    expect(b).toEqual([{ findings: [expect.objectContaining({ message: 'Job', status: 'PASS' })] }]);
    expect(await auditor.audit([])).toEqual([]);
    const lines = await log();
    expect(lines.filter((l) => l.startsWith('start'))).toEqual([
      expect.stringMatching(/^start \d+ -concurrency 2 -gc-percent 300$/),
    ]);
  });

  it('answers concurrent calls one request at a time', async () => {
    const { auditor } = await setup();
    const all = await Promise.all(['A', 'B', 'C'].map((kind) => auditor.audit([{ kind }])));
    expect(all.map((r) => (r[0] && 'findings' in r[0] ? r[0].findings[0]?.message : undefined))).toEqual([
      'A',
      'B',
      'C',
    ]);
  });

  it('kills the worker with its process group on a timeout, then starts a new one after a backoff', async () => {
    const { auditor, log, sleeps } = await setup({ timeoutMs: 1500 });
    const err = await auditor.audit([{ kind: 'Pod', do: 'hang' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TrivyErrorCode.Timeout, permanent: false });
    const lines = await log();
    const grandchild = Number(lines.find((l) => l.startsWith('grandchild'))?.split(' ')[1]);
    const first = Number(lines.find((l) => l.startsWith('start'))?.split(' ')[1]);
    await expect.poll(() => alive(grandchild) || alive(first), { timeout: 5000 }).toBe(false);

    expect(await auditor.audit([{ kind: 'Pod' }])).toHaveLength(1);
    expect(sleeps).toEqual([1000]);
    expect((await log()).filter((l) => l.startsWith('start'))).toHaveLength(2);
  });

  it('fails a batch whose worker died, and doubles the backoff while starts keep failing', async () => {
    const { auditor, sleeps } = await setup();
    await expect(auditor.audit([{ kind: 'Pod', do: 'crash' }])).rejects.toMatchObject({
      code: TrivyErrorCode.Failed,
      exitCode: 2,
    });
    const crashing = await setup({}, { FAKE_START: 'crash' });
    for (let i = 0; i < 4; i++) {
      await expect(crashing.auditor.audit([{ kind: 'Pod' }])).rejects.toMatchObject({
        code: TrivyErrorCode.Failed,
        message: expect.stringContaining('cannot load checks'),
      });
    }
    expect(crashing.sleeps).toEqual([1000, 2000, 4000]);
    // A success resets it: the crashed worker's replacement serves, the next start waits no more.
    expect(await auditor.audit([{ kind: 'Pod' }])).toHaveLength(1);
    expect(sleeps).toEqual([1000]);
  });

  it('running() is true only while a worker with its checks compiled is up', async () => {
    const { auditor, log } = await setup();
    expect(auditor.running()).toBe(false);
    await auditor.version();
    expect(auditor.running()).toBe(true);
    // Killed while idle (the OOM killer, say): seen at once, not at the next audit.
    const pid = Number((await log()).find((l) => l.startsWith('start'))?.split(' ')[1]);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => auditor.running(), { timeout: 5000 }).toBe(false);
    await auditor.version();
    expect(auditor.running()).toBe(true);
    await expect(auditor.audit([{ kind: 'Pod', do: 'crash' }])).rejects.toMatchObject({ exitCode: 2 });
    expect(auditor.running()).toBe(false);
  });

  it('refuses a response longer than maxLineChars, and an answer to another request', async () => {
    const { auditor } = await setup({ maxLineChars: 1000 });
    await expect(auditor.audit([{ do: 'spam' }])).rejects.toMatchObject({
      code: TrivyErrorCode.OutputTooLarge,
    });
    await expect(auditor.audit([{ do: 'other-id' }])).rejects.toMatchObject({ code: TrivyErrorCode.Failed });
  });

  it('gives up on a worker that never gets ready', async () => {
    const { auditor } = await setup({ startTimeoutMs: 500 }, { FAKE_START: 'hang' });
    await expect(auditor.audit([{ kind: 'Pod' }])).rejects.toMatchObject({ code: TrivyErrorCode.Timeout });
  });

  it('stops a batch when the signal aborts, killing the worker', async () => {
    const { auditor, log } = await setup();
    const ac = new AbortController();
    const pending = auditor.audit([{ do: 'hang' }], { signal: ac.signal });
    await expect.poll(async () => (await log()).some((l) => l.startsWith('grandchild'))).toBe(true);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: TrivyErrorCode.Aborted });
    const grandchild = Number((await log()).find((l) => l.startsWith('grandchild'))?.split(' ')[1]);
    await expect.poll(() => alive(grandchild), { timeout: 5000 }).toBe(false);
  });

  it('sends a large batch in chunks, one at a time, and an urgent call beside them', async () => {
    const { auditor, log } = await setup({ maxRequestManifests: 2 }, { FAKE_LOG_REQUESTS: '1' });
    await auditor.audit([{ kind: 'Warm' }]);
    const bulk = auditor.audit(['A', 'B', 'C', 'D', 'E'].map((kind) => ({ kind })));
    const urgent = auditor.audit([{ kind: 'U' }], { urgent: true });
    const outcomes = await bulk;
    expect(outcomes.map(message)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect((await urgent).map(message)).toEqual(['U']);
    const requests = (await log()).filter((l) => l.startsWith('request ')).map((l) => l.slice(8));
    // The urgent request did not wait for the bulk chunks still to send.
    expect(requests).toEqual(['Warm bulk', 'A,B bulk', 'U', 'C,D bulk', 'E bulk']);
  });

  it('takes an urgent answer that comes before the answer to a bulk request sent earlier', async () => {
    const { auditor, log } = await setup({}, { FAKE_LOG_REQUESTS: '1' });
    let bulkDone = false;
    const bulk = auditor.audit([{ kind: 'B', do: 'hold' }]).finally(() => {
      bulkDone = true;
    });
    await expect.poll(async () => (await log()).includes('request B bulk')).toBe(true);
    expect((await auditor.audit([{ kind: 'U' }], { urgent: true })).map(message)).toEqual(['U']);
    expect((await bulk).map(message)).toEqual(['B']);
    expect(bulkDone).toBe(true);
    expect((await log()).filter((l) => l.startsWith('start'))).toHaveLength(1);
  });

  it('fails the requests of both lanes when one of them kills the worker, counting one failure', async () => {
    const { auditor, log, sleeps } = await setup({}, { FAKE_LOG_REQUESTS: '1' });
    const bulk = auditor.audit([{ kind: 'B', do: 'hold' }]);
    await expect.poll(async () => (await log()).includes('request B bulk')).toBe(true);
    await expect(auditor.audit([{ kind: 'U', do: 'crash' }], { urgent: true })).rejects.toMatchObject({
      exitCode: 2,
    });
    await expect(bulk).rejects.toMatchObject({ exitCode: 2 });
    expect(await auditor.audit([{ kind: 'Pod' }])).toHaveLength(1);
    expect(sleeps).toEqual([1000]);
  });

  it('starts one worker for calls of both lanes at once, niced for bulk audits when asked', async () => {
    const { auditor, log } = await setup({ bulkNiceness: 10 });
    const [urgent, bulk, version] = await Promise.all([
      auditor.audit([{ kind: 'U' }], { urgent: true }),
      auditor.audit([{ kind: 'B' }]),
      auditor.version(),
    ]);
    expect([urgent.map(message), bulk.map(message), version]).toEqual([['U'], ['B'], '0.74.0']);
    expect((await log()).filter((l) => l.startsWith('start'))).toEqual([
      expect.stringMatching(/^start \d+ -concurrency 1 -gc-percent 100 -bulk-niceness 10$/),
    ]);
  });

  it('fails the whole batch when one chunk fails, without sending the chunks after it', async () => {
    const { auditor, log } = await setup({ maxRequestManifests: 1 }, { FAKE_LOG_REQUESTS: '1' });
    await expect(
      auditor.audit([{ kind: 'A' }, { kind: 'B', do: 'crash' }, { kind: 'C' }]),
    ).rejects.toMatchObject({ code: TrivyErrorCode.Failed });
    const requests = (await log()).filter((l) => l.startsWith('request ')).map((l) => l.slice(8));
    expect(requests).toEqual(['A bulk', 'B bulk']);
  });

  it('closes the worker through its stdin', async () => {
    const { auditor, log } = await setup();
    await auditor.audit([{ kind: 'Pod' }]);
    await auditor.close();
    await expect.poll(async () => (await log()).includes('stdin closed')).toBe(true);
    await expect(auditor.audit([{ kind: 'Pod' }])).rejects.toMatchObject({ code: TrivyErrorCode.Aborted });
  });

  it('keeps nothing of a finished batch while its worker lives on', async () => {
    // The soak's scanner grew ~1 MiB a minute: every batch raced the worker's exit, a promise that
    // stays pending while the worker lives, and each race left a reaction on it holding the
    // batch's response line. 100 batches of ~200 KB responses would keep ~20 MB.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { auditor } = await setup();
    const kind = 'P'.repeat(200_000);
    const heapAfterGc = async () => {
      await tick();
      gc();
      await tick();
      gc();
      return memoryUsage().heapUsed;
    };
    for (let i = 0; i < 5; i++) await auditor.audit([{ kind }], { signal: new AbortController().signal });
    const before = await heapAfterGc();
    for (let i = 0; i < 100; i++) await auditor.audit([{ kind }], { signal: new AbortController().signal });
    const grown = (await heapAfterGc()) - before;
    expect(grown).toBeLessThan(5_000_000);
  });
});
