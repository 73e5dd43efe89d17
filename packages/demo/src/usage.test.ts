import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@fleetscan/stack';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const usage = () => readFile(join(repoRoot, 'packages', 'demo', 'usage.txt'), 'utf8');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the demo’s usage', () => {
  it('names the command the README gives, bash .ci/demo', async () => {
    expect((await usage()).split('\n')[0]).toBe('Usage: bash .ci/demo [options]');
  });

  it('bash .ci/demo --help prints it before (and without) the setup', { timeout: 30_000 }, async () => {
    // A checkout with no .ci/setup: had the script run the setup first, it would fail here.
    const root = await mkdtemp(join(tmpdir(), 'fleetscan-demo-usage-'));
    dirs.push(root);
    await mkdir(join(root, '.ci'));
    await mkdir(join(root, 'packages', 'demo'), { recursive: true });
    await copyFile(join(repoRoot, '.ci', 'demo'), join(root, '.ci', 'demo'));
    await copyFile(
      join(repoRoot, 'packages', 'demo', 'usage.txt'),
      join(root, 'packages', 'demo', 'usage.txt'),
    );
    for (const flag of ['--help', '-h']) {
      const { stdout } = await run('bash', [join(root, '.ci', 'demo'), '--once', flag], { timeout: 20_000 });
      expect(stdout).toBe(await usage());
    }
  });

  it('npm run demo -- --help prints the same text', { timeout: 30_000 }, async () => {
    const { stdout } = await run(
      process.execPath,
      [join(repoRoot, 'packages', 'demo', 'src', 'cli.ts'), '--help'],
      {
        timeout: 20_000,
      },
    );
    expect(stdout).toBe(await usage());
  });
});
