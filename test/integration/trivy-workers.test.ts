import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTrivyRunner,
  imageScanArgs,
  type SbomScanOptions,
  TrivyErrorCode,
  type TrivyRunner,
  trivyEnv,
} from '@fleetscan/trivy';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { trivyFailure, writeMatchFilters } from '../support/trivy.ts';

// A trivy worker (`fleetscan-auditor trivy`) against trivy's CLI, on the same inputs: the same
// reports byte for byte, apart from what differs between any two runs (IDs, times). One worker
// runs every step in turn, so that flags, ignore files or credentials one run was given and the
// next was not would show up as a difference.

const stack = inject('stack');
const nginx = `${stack.registry.host}/library/nginx:1.20`;
const authNginx = `${stack.authRegistry.host}/library/nginx:1.20`;
const { username, password } = stack.authRegistry;

/** The pid of each run's worker, whether the run succeeded or failed. */
const runPids: unknown[] = [];
const recordPid = (obj: object, msg?: string) => {
  if (msg === 'trivy finished' || (obj as { code?: unknown }).code !== undefined)
    runPids.push((obj as { pid?: unknown }).pid);
};
const options = {
  bin: stack.trivy.bin,
  cacheDir: stack.trivy.cacheDir,
  timeoutMs: 90_000,
};
const cli = createTrivyRunner({ ...options, logger: { debug: () => {}, warn: () => {} } });
const worker = createTrivyRunner({
  ...options,
  workers: { bin: stack.trivy.auditor, maxIdle: 1 },
  logger: { debug: recordPid, warn: recordPid },
});

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-workers-'));
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

/** The report without what differs between two runs of the same input: UUIDs and timestamps. */
function comparable(json: string): string {
  const ids = new Map<string, string>();
  return json
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
      if (!ids.has(id)) ids.set(id, `<id ${ids.size}>`);
      return ids.get(id) as string;
    })
    .replace(/"(CreatedAt|timestamp)": "[^"]*"/g, '"$1": "<time>"');
}

async function both<T extends { json: string }>(run: (r: TrivyRunner) => Promise<T>) {
  const [fromCli, fromWorker] = [await run(cli), await run(worker)];
  return { cli: comparable(fromCli.json), worker: comparable(fromWorker.json) };
}

describe('a trivy worker, run after run, against the trivy CLI', () => {
  it('gives the same image reports, SBOM and re-matches, with and without filters and credentials', async () => {
    const image = await both((r) => r.scanImage(nginx, { scanners: ['vuln', 'secret'] }));
    expect(image.worker).toBe(image.cli);
    expect(image.worker).toContain('CVE-2021-22945');

    const reportFile = join(dir, 'image.json');
    await writeFile(reportFile, (await cli.scanImage(nginx, { scanners: ['vuln'] })).json);
    const sbom = await both((r) => r.convertToCycloneDx(reportFile));
    expect(sbom.worker).toBe(sbom.cli);
    const sbomFile = join(dir, 'sbom.cdx.json');
    await writeFile(sbomFile, (await cli.convertToCycloneDx(reportFile)).json);

    const { ignoreFile, ignorePolicy } = await writeMatchFilters(dir);
    const filters: SbomScanOptions = {
      severities: ['CRITICAL', 'HIGH', 'LOW'],
      ignoreUnfixed: true,
      ignoreFile,
      ignorePolicy,
    };
    const filtered = await both((r) => r.scanSbom(sbomFile, filters));
    expect(filtered.worker).toBe(filtered.cli);
    expect(filtered.worker).not.toContain('CVE-2021-22946');
    // The next run is given no filter: it must not inherit the last one's.
    const unfiltered = await both((r) => r.scanSbom(sbomFile));
    expect(unfiltered.worker).toBe(unfiltered.cli);
    expect(unfiltered.worker).toContain('CVE-2021-22946');

    const withAuth = await both((r) =>
      r.scanImage(authNginx, { scanners: ['vuln'], registryAuth: { username, password } }),
    );
    expect(withAuth.worker).toBe(withAuth.cli);
    // The next run is given no credentials: it must not inherit the last one's.
    const err = await trivyFailure(worker.scanImage(authNginx, { scanners: ['vuln'] }));
    expect(err.code).toBe(TrivyErrorCode.Unauthorized);
    expect(`${err.message}${err.stderr}`).not.toContain(password);

    // One worker ran them all, one after the other.
    expect(runPids).toHaveLength(6);
    expect(new Set(runPids).size).toBe(1);
  });
});

describe("a trivy worker's temporary directory", () => {
  it('holds the temp dir trivy makes for its runs, and is removed when the worker ends', async () => {
    // The worker alone, as the pool starts it: TMPDIR and -tmpdir name its own directory.
    const own = await mkdtemp(join(dir, 'own-'));
    const child = spawn(stack.trivy.auditor, ['trivy', '-tmpdir', own], {
      cwd: stack.trivy.cacheDir,
      env: { TMPDIR: own },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const lines = child.stdout.setEncoding('utf8')[Symbol.asyncIterator]();
    const line = async () => {
      let buf = '';
      while (!buf.includes('\n')) buf += (await lines.next()).value ?? '';
      return JSON.parse(buf.split('\n')[0] as string) as Record<string, unknown>;
    };
    expect(await line()).toHaveProperty('ready');
    const args = imageScanArgs({
      ref: nginx,
      scanners: ['vuln'],
      cacheDir: stack.trivy.cacheDir,
      timeoutMs: 60_000,
    });
    const env = { ...trivyEnv({ cacheDir: stack.trivy.cacheDir }), TMPDIR: own };
    const [command, ...rest] = args;
    child.stdin.write(
      `${JSON.stringify({ id: 1, args: [command, '--output', join(own, 'report.json'), ...rest], env })}\n`,
    );
    expect(await line()).toEqual({ id: 1 });
    // trivy unpacked the image's layers under the worker's directory, in one of its own.
    expect((await readdir(own)).filter((n) => n.startsWith('trivy-'))).toHaveLength(1);
    child.stdin.end();
    expect((await exited)[0]).toBe(0);
    expect(existsSync(own)).toBe(false);
  });
});
