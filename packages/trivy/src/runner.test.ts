import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrivyErrorCode } from './errors.ts';
import { createTrivyRunner, type TrivyLogger, type TrivyRunnerOptions } from './runner.ts';
import { alive } from './testing/processes.ts';

// The process wire is faked with small shell scripts standing in for the trivy binary; the
// real trivy runs in test/integration/trivy-runner.test.ts.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-runner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeTrivy(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

function recordingLogger() {
  const entries: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const logger: TrivyLogger = {
    debug: (obj, msg) => entries.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
  const pid = () => entries.find((e) => e.msg === 'trivy started')?.obj.pid as number;
  return { logger, entries, pid };
}

function runner(bin: string, over: Partial<TrivyRunnerOptions> = {}) {
  const log = recordingLogger();
  return {
    log,
    trivy: createTrivyRunner({ bin, cacheDir: dir, timeoutMs: 10_000, logger: log.logger, ...over }),
  };
}

/** A signalled process takes a moment to die: looks a few times, bounded. */
async function dies(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
  return !alive(pid);
}

describe('createTrivyRunner', () => {
  it('returns stdout and passes credentials in the environment only, inheriting nothing', async () => {
    // Prints its argv and its whole environment as the "report".
    const bin = await fakeTrivy('echo-env', 'echo "ARGS $*"; /usr/bin/env');
    const { trivy, log } = runner(bin, { extraEnv: { HTTPS_PROXY: 'http://proxy:3128' } });
    const { json, durationMs } = await trivy.scanImage('reg/app:1', {
      scanners: ['vuln'],
      registryAuth: { username: 'robot', password: 'pa55word' },
    });
    const [argsLine, ...envLines] = json.trim().split('\n');
    expect(argsLine).toMatch(/^ARGS image --cache-dir .* -- reg\/app:1$/);
    expect(argsLine).not.toContain('pa55word');
    const tmp = envLines.find((l) => l.startsWith('TMPDIR='))?.slice('TMPDIR='.length) ?? '';
    expect(envLines.filter((l) => !l.startsWith('PWD=')).sort()).toEqual([
      `DOCKER_CONFIG=${dir}/.no-docker-config`,
      'HTTPS_PROXY=http://proxy:3128',
      `TMPDIR=${tmp}`,
      'TRIVY_PASSWORD=pa55word',
      'TRIVY_USERNAME=robot',
    ]);
    // A TMPDIR of the run's own, removed after it.
    expect(tmp.startsWith(join(tmpdir(), 'fleetscan-scan-'))).toBe(true);
    expect(existsSync(tmp)).toBe(false);
    expect(durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(log.entries)).not.toContain('pa55word');
  });

  it('classifies a failure from stderr, keeping a redacted stderr tail', async () => {
    const stderr = join(dir, 'not-found.txt');
    const captured = await readFile(
      new URL('../testdata/stderr/not-found-with-credentials.txt', import.meta.url),
      'utf8',
    );
    // As if a registry had echoed the password back.
    await writeFile(stderr, `${captured}\nGET http://robot:pa55word@reg/v2/\n`);
    const bin = await fakeTrivy('fail', `cat '${stderr}' >&2; exit 1`);
    const { trivy, log } = runner(bin);
    const err = await trivy
      .scanImage('reg/app:9.99', {
        scanners: ['vuln'],
        registryAuth: { username: 'robot', password: 'pa55word' },
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TrivyError', code: TrivyErrorCode.ImageNotFound, exitCode: 1 });
    const { stderr: kept, message } = err as { stderr: string; message: string };
    expect(kept).toContain('MANIFEST_UNKNOWN');
    expect(kept).toContain('robot:[redacted]@reg');
    expect(`${kept}${message}`).not.toContain('pa55word');
    expect(log.entries.at(-1)).toMatchObject({
      level: 'warn',
      obj: { code: 'IMAGE_NOT_FOUND', exitCode: 1 },
    });
  });

  it('on timeout sends SIGTERM, then SIGKILL to a trivy that ignores it, and leaves no process', async () => {
    // trivy answers SIGTERM with a "graceful shutdown" that can hang; this one ignores it outright.
    const bin = await fakeTrivy('stubborn', "trap '' TERM; while :; do sleep 0.05; done");
    const { trivy, log } = runner(bin, { timeoutMs: 300, killGraceMs: 300 });
    const started = Date.now();
    const err = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TrivyErrorCode.Timeout, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(alive(log.pid())).toBe(false);
    expect(log.entries.at(-1)?.obj).toMatchObject({ code: 'TIMEOUT', forceKilled: true });
  });

  it('removes what a trivy killed at the timeout left in its TMPDIR', async () => {
    // trivy unpacks layers under TMPDIR and removes them only when it ends normally.
    const tmpFile = join(dir, 'killed-tmp.txt');
    const bin = await fakeTrivy(
      'leaves-tmp',
      `mkdir -p "$TMPDIR/trivy-$$/image-layers-1" && echo "$TMPDIR" > '${tmpFile}'\nexec sleep 300`,
    );
    const { trivy } = runner(bin, { timeoutMs: 500, killGraceMs: 300 });
    const err = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TrivyErrorCode.Timeout });
    const tmp = (await readFile(tmpFile, 'utf8')).trim();
    expect(tmp.startsWith(join(tmpdir(), 'fleetscan-scan-'))).toBe(true);
    expect(existsSync(tmp)).toBe(false);
  });

  it('at the timeout kills the whole process group: a child holding stdout open does not hold the run', async () => {
    // trivy killed at the timeout while a child it started (ignoring SIGTERM) keeps the pipes open:
    // the run used to wait for the child, holding the scan slot for as long as the child lived.
    const childPid = join(dir, 'hung-child.pid');
    const bin = await fakeTrivy(
      'hung-child',
      `(trap '' TERM; exec sleep 300) & echo $! > '${childPid}'\necho partial\nsleep 300`,
    );
    const { trivy, log } = runner(bin, { timeoutMs: 500, killGraceMs: 300 });
    const err = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: TrivyErrorCode.Timeout });
    const child = Number(await readFile(childPid, 'utf8'));
    expect(await dies(log.pid())).toBe(true);
    expect(await dies(child)).toBe(true);
    expect(log.entries.at(-1)?.obj).toMatchObject({ code: 'TIMEOUT' });
  });

  it('a trivy that exits leaving a child on its pipes: its output is returned and the child killed', async () => {
    const childPid = join(dir, 'leftover-child.pid');
    const bin = await fakeTrivy(
      'leftover-child',
      `sleep 300 & echo $! > '${childPid}'\necho '{"ok":true}'\nexit 0`,
    );
    const { trivy, log } = runner(bin, { pipeGraceMs: 200 });
    const { json } = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] });
    expect(json).toBe('{"ok":true}\n');
    expect(await dies(Number(await readFile(childPid, 'utf8')))).toBe(true);
    expect(log.entries.at(-1)).toMatchObject({ msg: 'trivy finished', obj: { pipesCut: true } });
  });

  it('stops reading pipes held by a child that left the process group, and returns', async () => {
    // setsid: out of reach of the group kill; the run must still end once trivy is gone.
    const childPid = join(dir, 'escaped-child.pid');
    const bin = await fakeTrivy(
      'escaped-child',
      `setsid sh -c 'echo $$ > "${childPid}"; exec sleep 300' &\nsleep 300`,
    );
    const { trivy } = runner(bin, { timeoutMs: 500, killGraceMs: 300 });
    try {
      const err = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: TrivyErrorCode.Timeout });
    } finally {
      const pid = Number(await readFile(childPid, 'utf8').catch(() => '0'));
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('an aborted signal kills trivy and rejects with ABORTED', async () => {
    // exec: trivy is one process, and a child left holding stdout would keep the run open.
    const bin = await fakeTrivy('slow', 'exec sleep 30');
    const { trivy, log } = runner(bin, { killGraceMs: 1_000 });
    const ac = new AbortController();
    const pending = trivy.auditConfigs('/batch', { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: TrivyErrorCode.Aborted });
    expect(alive(log.pid())).toBe(false);
  });

  it('logs a failure bounded, however much trivy printed', async () => {
    const stderr = join(dir, 'huge-fatal.txt');
    const ref = `reg/app:${'x'.repeat(900_000)}`;
    await writeFile(stderr, `2026-01-01T00:00:00Z\tFATAL\tFatal error\timage scan error: ${ref}: ${ref}\n`);
    const bin = await fakeTrivy('huge-fatal', `cat '${stderr}' >&2; exit 1`);
    const { trivy, log } = runner(bin);
    await expect(trivy.scanImage('reg/app:1', { scanners: ['vuln'] })).rejects.toMatchObject({
      code: 'FAILED',
    });
    expect(JSON.stringify(log.entries.at(-1)).length).toBeLessThan(3_000);
  });

  it('refuses output past the limit', async () => {
    const bin = await fakeTrivy('chatty', 'head -c 5000 /dev/zero | tr "\\0" x');
    const { trivy } = runner(bin, { maxOutputChars: 100 });
    await expect(trivy.scanImage('reg/app:1', { scanners: ['vuln'] })).rejects.toMatchObject({
      code: TrivyErrorCode.OutputTooLarge,
    });
  });

  it('rejects (does not throw) when no scanner is asked for', async () => {
    const { trivy } = runner(join(dir, 'unused'));
    await expect(trivy.scanImage('reg/app:1', { scanners: [] })).rejects.toThrow(RangeError);
  });

  it('a binary that cannot start is a FAILED TrivyError with the cause', async () => {
    const { trivy } = runner(join(dir, 'no-such-trivy'));
    const err = await trivy.scanImage('reg/app:1', { scanners: ['vuln'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TrivyError', code: TrivyErrorCode.Failed });
    expect((err as Error).message).toContain('could not start');
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('scanSbom and convertToCycloneDx run trivy sbom / trivy convert on the given file, without credentials', async () => {
    const bin = await fakeTrivy('echo-args', 'echo "ARGS $*"; /usr/bin/env');
    const { trivy } = runner(bin);
    const sbom = await trivy.scanSbom('/t/sbom.cdx.json', {
      severities: ['HIGH'],
      ignorePolicy: '/t/p.rego',
    });
    const [sbomArgs, ...sbomEnv] = sbom.json.trim().split('\n');
    expect(sbomArgs).toMatch(
      /^ARGS sbom --cache-dir .* --severity HIGH --ignore-policy \/t\/p\.rego -- \/t\/sbom\.cdx\.json$/,
    );
    expect(sbomEnv.join('\n')).not.toContain('TRIVY_');
    const conv = await trivy.convertToCycloneDx('/t/image.json');
    expect(conv.json).toMatch(/^ARGS convert --cache-dir .* --format cyclonedx .* -- \/t\/image\.json$/m);
  });

  it('runs with the niceness asked for (nice(1) execs trivy: same pid), else at our own', async () => {
    // Field 19 of /proc/<pid>/stat is the nice value; $$ is the fake trivy itself.
    const bin = await fakeTrivy(
      'nice-of',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      'read -r stat < /proc/$$/stat; set -- ${stat##*) }; shift 16; echo "$1 $$"',
    );
    const { trivy, log } = runner(bin);
    const own = (await trivy.scanSbom('/t/s.json')).json.trim().split(' ')[0];
    const niced = await trivy.scanSbom('/t/s.json', { niceness: 7 });
    const [nice, pid] = niced.json.trim().split(' ');
    expect(Number(nice)).toBe(Math.min(19, Number(own) + 7));
    // The pid logged (and killed at the timeout) is the program's, not a wrapper's.
    expect(log.entries.filter((e) => e.msg === 'trivy started').at(-1)?.obj.pid).toBe(Number(pid));
    const conv = await trivy.convertToCycloneDx('/t/i.json', { niceness: 3 });
    expect(Number(conv.json.trim().split(' ')[0])).toBe(Math.min(19, Number(own) + 3));
  });

  it('version() parses `trivy version --format json`', async () => {
    const file = new URL('../testdata/version.json', import.meta.url).pathname;
    const bin = await fakeTrivy('version', `[ "$1" = version ] && cat '${file}'`);
    const { trivy } = runner(bin);
    expect(await trivy.version()).toEqual({ version: '0.74.0', dbUpdatedAt: '2026-11-01T00:00:00Z' });
  });

  it('rejects with PARSE when version output is not what trivy prints', async () => {
    const bin = await fakeTrivy('version-bad', 'echo "Version: 0.74.0"');
    const { trivy } = runner(bin);
    await expect(trivy.version()).rejects.toMatchObject({ code: TrivyErrorCode.Parse });
  });
});
