import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** The scripts that run until stopped: Ctrl-C, or a SIGINT to npm from whatever started it, must reach them. */
const LONG_RUNNING = ['stack:up', 'demo', 'bench', 'soak'];

describe('npm scripts that run until stopped', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it.each(LONG_RUNNING)(
    '%s: a SIGINT to npm reaches the program (npm signals its shell, which must have exec-ed node)',
    { timeout: 60_000 },
    async (name) => {
      const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      const script = pkg.scripts[name];
      if (!script) throw new Error(`no npm script ${name}`);
      dir = await mkdtemp(join(tmpdir(), 'fleetscan-npm-signal-'));
      await mkdir(join(dir, '.ci'), { recursive: true });
      await mkdir(join(dir, 'node_modules'), { recursive: true });
      await copyFile(join(repoRoot, '.ci', 'check-node.mjs'), join(dir, '.ci', 'check-node.mjs'));
      // The script as package.json has it, its program replaced by one that says when SIGINT came.
      const program = script.match(/node (packages\/\S+\.ts)/)?.[1];
      if (!program) throw new Error(`${name}: no program in ${script}`);
      const marker = join(dir, 'got-sigint');
      await writeFile(
        join(dir, 'program.mjs'),
        [
          "import { writeFileSync } from 'node:fs';",
          `process.on('SIGINT', () => { writeFileSync(${JSON.stringify(marker)}, 'yes'); process.exit(130); });`,
          "console.log('ready');",
          'setTimeout(() => process.exit(3), 30_000);',
        ].join('\n'),
      );
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          engines: { node: `>=${process.versions.node.split('.').slice(0, 2).join('.')}` },
          scripts: { [name]: script.replace(program, 'program.mjs') },
        }),
      );
      const npm = spawn('npm', ['run', '--silent', name], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('the program did not start within 30 s')), 30_000);
          npm.stdout.on('data', (d: Buffer) => {
            if (d.toString().includes('ready')) {
              clearTimeout(t);
              resolve();
            }
          });
        });
        // Only npm: as a process manager or an IDE stops it, not the terminal's whole process group.
        npm.kill('SIGINT');
        await Promise.race([exited, sleep(20_000)]);
        expect(await readFile(marker, 'utf8').catch(() => 'no SIGINT reached the program')).toBe('yes');
      } finally {
        npm.kill('SIGKILL');
      }
    },
  );
});
