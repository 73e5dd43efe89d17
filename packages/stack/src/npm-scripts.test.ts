import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './tools.ts';

const run = promisify(execFile);
const CHECK = 'node .ci/check-node.mjs && ';

/** Runs .ci/check-node.mjs in a copy of the repository's root with this package.json. */
async function check(dir: string, engines: string, modules: boolean) {
  await mkdir(join(dir, '.ci'), { recursive: true });
  await copyFile(join(repoRoot, '.ci', 'check-node.mjs'), join(dir, '.ci', 'check-node.mjs'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ engines: { node: engines } }));
  if (modules) await mkdir(join(dir, 'node_modules'), { recursive: true });
  try {
    await run(process.execPath, [join(dir, '.ci', 'check-node.mjs')], { cwd: tmpdir(), timeout: 10_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code, stderr: e.stderr ?? '' };
  }
}

describe('npm scripts on the wrong node', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('every npm script checks node first (on Node 20 they failed with ERR_UNKNOWN_FILE_EXTENSION)', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const unchecked = Object.entries(pkg.scripts).filter(([, cmd]) => !cmd.startsWith(CHECK));
    expect(unchecked).toEqual([]);
  });

  it('passes on a node that satisfies engines, with the dependencies installed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetscan-check-node-'));
    const [major, minor] = process.versions.node.split('.');
    expect(await check(dir, `>=${major}.${minor}`, true)).toEqual({ code: 0, stderr: '' });
  });

  it('stops an older node with what to run first', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetscan-check-node-'));
    const newer = `>=${Number(process.versions.node.split('.')[0]) + 1}.0`;
    const r = await check(dir, newer, true);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`this is Node ${process.version}`);
    expect(r.stderr).toContain(`needs Node ${newer}`);
    expect(r.stderr).toContain('eval "$(bash .ci/setup)"');
  });

  it('stops when npm ci has not run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetscan-check-node-'));
    const r = await check(dir, '>=1.0', false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm dependencies are not installed');
    expect(r.stderr).toContain('eval "$(bash .ci/setup)"');
  });
});
