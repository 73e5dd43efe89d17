import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckSchema, ExposedSecretSchema, VulnerabilitySchema } from '@fleetscan/reports';
import {
  createTrivyRunner,
  isPermanent,
  parseConfigReport,
  parseImageReport,
  readDbInfo,
  TrivyErrorCode,
  type TrivyLogger,
  type TrivyRunner,
  toChecksByFile,
  toImageReportData,
} from '@fleetscan/trivy';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { alive } from '../support/processes.ts';
import { trivyFailure } from '../support/trivy.ts';

// The runner against the real trivy v0.74, the fixture DB and the stack's registries.

const stack = inject('stack');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function recordingLogger() {
  const entries: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const push = (obj: object, msg?: string) => entries.push({ obj: obj as Record<string, unknown>, msg });
  const logger: TrivyLogger = { debug: push, warn: push };
  return {
    logger,
    entries,
    pids: () => entries.filter((e) => e.msg === 'trivy started').map((e) => e.obj.pid),
  };
}

/** Where image, sbom and convert run: a trivy process each, or long-lived trivy workers. */
type Mode = 'process' | 'worker';
const MODES: Mode[] = ['process', 'worker'];
const runners: TrivyRunner[] = [];
afterAll(async () => {
  for (const r of runners) await r.close();
});

function makeRunner(over: { timeoutMs?: number; killGraceMs?: number; mode?: Mode } = {}) {
  const log = recordingLogger();
  const runner = createTrivyRunner({
    bin: stack.trivy.bin,
    cacheDir: stack.trivy.cacheDir,
    timeoutMs: over.timeoutMs ?? 90_000,
    ...(over.killGraceMs !== undefined && { killGraceMs: over.killGraceMs }),
    ...(over.mode === 'worker' && { workers: { bin: stack.trivy.auditor, maxIdle: 1 } }),
    logger: log.logger,
  });
  runners.push(runner);
  return { runner, log };
}

/** Live processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe.each(MODES)('trivy runs in a %s', (mode) => {
  describe('image scans', () => {
    const { runner } = makeRunner({ mode });
    const nginx = `${stack.registry.host}/library/nginx:1.20`;

    it('finds CVE-2021-22945 in nginx:1.20, as report-ready data the reports schemas accept', async () => {
      const { json, durationMs } = await runner.scanImage(nginx, { scanners: ['vuln', 'secret'] });
      expect(durationMs).toBeGreaterThan(0);
      const data = toImageReportData(parseImageReport(json), { imageRef: nginx });
      expect(data.vulnerabilities).toContainEqual(
        expect.objectContaining({
          vulnerabilityID: 'CVE-2021-22945',
          resource: 'curl',
          installedVersion: '7.74.0-1.3+deb11u1',
          fixedVersion: '7.74.0-1.3+deb11u2',
          severity: 'CRITICAL',
          score: 9.1,
        }),
      );
      for (const v of data.vulnerabilities) VulnerabilitySchema.parse(v);
      expect(data.registry.server).toBe(stack.registry.host);
      expect(data.os).toEqual({ family: 'debian', name: '11.3', eosl: true });
      const pushed = stack.images.find((i) => i.name === 'library/nginx:1.20');
      expect(data.manifestDigest).toBe(pushed?.digest);
    });

    it('honours severity and ignore-unfixed filters', async () => {
      const { json } = await runner.scanImage(nginx, {
        scanners: ['vuln'],
        severities: ['LOW'],
        ignoreUnfixed: true,
      });
      // The two LOW findings (apt, libc6 CVE-2010-4756) have no fix, so nothing is left.
      expect(toImageReportData(parseImageReport(json)).vulnerabilities).toEqual([]);
    });

    it('a missing tag is IMAGE_NOT_FOUND, and permanent', async () => {
      const err = await trivyFailure(
        runner.scanImage(`${stack.registry.host}/library/nginx:9.99`, { scanners: ['vuln'] }),
      );
      expect(err.code).toBe(TrivyErrorCode.ImageNotFound);
      expect(isPermanent(err)).toBe(true);
      expect(err.stderr).toContain('MANIFEST_UNKNOWN');
    });

    it('an invalid reference is INVALID_REFERENCE', async () => {
      const err = await trivyFailure(
        runner.scanImage(`${stack.registry.host}/Library/NGINX:1.20`, { scanners: ['vuln'] }),
      );
      expect(err.code).toBe(TrivyErrorCode.InvalidReference);
      expect(isPermanent(err)).toBe(true);
    });
  });

  describe('the registry that requires credentials', () => {
    const { runner, log } = makeRunner({ mode });
    const ref = `${stack.authRegistry.host}/library/nginx:1.20`;
    const { username, password } = stack.authRegistry;

    it('without credentials: UNAUTHORIZED, permanent', async () => {
      const err = await trivyFailure(runner.scanImage(ref, { scanners: ['vuln'] }));
      expect(err.code).toBe(TrivyErrorCode.Unauthorized);
      expect(isPermanent(err)).toBe(true);
    });

    it('with credentials: scans, and the password shows up in no log entry', async () => {
      const { json } = await runner.scanImage(ref, {
        scanners: ['vuln'],
        registryAuth: { username, password },
      });
      const ids = toImageReportData(parseImageReport(json)).vulnerabilities.map((v) => v.vulnerabilityID);
      expect(ids).toContain('CVE-2021-22945');
      expect(JSON.stringify(log.entries)).not.toContain(password);
    });

    it('with credentials and a missing tag: IMAGE_NOT_FOUND despite the anonymous retry being refused', async () => {
      const err = await trivyFailure(
        runner.scanImage(`${stack.authRegistry.host}/library/nginx:9.99`, {
          scanners: ['vuln'],
          registryAuth: { username, password },
        }),
      );
      expect(err.code).toBe(TrivyErrorCode.ImageNotFound);
      expect(`${err.message}${err.stderr}`).not.toContain(password);
    });
  });

  describe('secret scanning', () => {
    it('reports nothing for the test images and validates against the ExposedSecret schema', async () => {
      const { runner } = makeRunner({ mode });
      const { json } = await runner.scanImage(`${stack.registry.host}/library/alpine:3.18`, {
        scanners: ['secret'],
      });
      const data = toImageReportData(parseImageReport(json));
      expect(data.vulnerabilities).toEqual([]);
      for (const s of data.secrets) ExposedSecretSchema.parse(s);
    });
  });
});

describe('batched config audit', () => {
  it('audits three manifests in one run and returns checks per file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-audit-'));
    dirs.push(dir);
    await cp(new URL('../../packages/trivy/testdata/manifests/', import.meta.url), dir, { recursive: true });
    const naive = await readFile(new URL('../fixtures/naive-deployment.yaml', import.meta.url), 'utf8');
    await writeFile(join(dir, 'naive-deployment.yaml'), naive.replace('REGISTRY', stack.registry.host));

    const { runner } = makeRunner();
    const { json } = await runner.auditConfigs(dir);
    const byFile = toChecksByFile(parseConfigReport(json));
    expect([...byFile.keys()].sort()).toEqual([
      'naive-deployment.yaml',
      'naive-replicaset.yaml',
      'shop/hardened-replicaset.yaml',
      'wildcard-role.yaml',
    ]);
    for (const file of ['naive-deployment.yaml', 'naive-replicaset.yaml']) {
      const failed = (byFile.get(file) ?? []).filter((c) => !c.success).map((c) => c.checkID);
      expect(failed).toEqual(expect.arrayContaining(['KSV003', 'KSV110']));
    }
    expect(byFile.get('shop/hardened-replicaset.yaml')?.map((c) => c.checkID)).toEqual(['KSV125']);
    for (const checks of byFile.values()) for (const c of checks) CheckSchema.parse(c);
  });
});

describe.each(MODES)('timeouts, trivy in a %s', (mode) => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('kills a trivy stuck on a registry that never answers, leaving no process behind', async () => {
    // Accepts connections and says nothing; trivy's own --timeout does not cover this phase.
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const ref = `127.0.0.1:${address.port}/library/stuck:1.0`;

    const { runner, log } = makeRunner({ timeoutMs: 1_500, killGraceMs: 1_000, mode });
    const started = Date.now();
    const err = await trivyFailure(runner.scanImage(ref, { scanners: ['vuln'] }));
    expect(err.code).toBe(TrivyErrorCode.Timeout);
    expect(isPermanent(err)).toBe(false);
    expect(Date.now() - started).toBeLessThan(15_000);
    if (mode === 'process') {
      const [pid] = log.pids();
      expect(typeof pid).toBe('number');
      expect(processesMentioning(ref)).toEqual([]);
    } else {
      // The worker that ran it was killed with its process group, not kept for the next run.
      const pid = log.entries.find((e) => e.obj.code === TrivyErrorCode.Timeout)?.obj.pid;
      expect(typeof pid).toBe('number');
      await expect.poll(() => alive(pid as number)).toBe(false);
    }
  });
});

describe('version and DB', () => {
  it("reports trivy's version and the fixture DB's date, which dbinfo reads too", async () => {
    const { runner } = makeRunner();
    const v = await runner.version();
    expect(`v${v.version}`).toBe(stack.trivy.version);
    const db = await readDbInfo(stack.trivy.cacheDir);
    expect(v.dbUpdatedAt).toBe(db.updatedAt);
    expect(db.key).toBe(`2:${db.updatedAt}`);
  });
});
