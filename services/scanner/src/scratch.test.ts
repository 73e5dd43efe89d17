import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepScratchDirs, withScratchDir } from './scratch.ts';

describe('withScratchDir', () => {
  it('gives a private directory for the run and removes it, also on failure', async () => {
    let seen = '';
    await expect(
      withScratchDir(async (files) => {
        seen = files.dir;
        const f = await files.write('policy.rego', 'package trivy');
        expect(await readFile(f, 'utf8')).toBe('package trivy');
        throw new Error('trivy failed');
      }),
    ).rejects.toThrow('trivy failed');
    expect(seen).toMatch(/fleetscan-scan-/);
    expect(existsSync(seen)).toBe(false);
  });

  it("keeps a config audit batch's manifests readable by the scanner user only", async () => {
    await withScratchDir(async (files) => {
      expect(files.dir).toMatch(/fleetscan-audit-/);
      const f = await files.write('0.yaml', 'kind: Pod\n');
      expect((await stat(files.dir)).mode & 0o777).toBe(0o700);
      expect((await stat(f)).mode & 0o777).toBe(0o600);
    }, 'audit');
  });
});

describe('sweepScratchDirs', () => {
  it('removes only directories older than the limit', async () => {
    let old = '';
    let fresh = '';
    await withScratchDir(async (a) => {
      old = a.dir;
      await withScratchDir(async (b) => {
        fresh = b.dir;
        const hourAgo = new Date(Date.now() - 3600_000);
        await utimes(old, hourAgo, hourAgo);
        const removed = await sweepScratchDirs(600_000);
        expect(removed).toContain(old);
        expect(removed).not.toContain(fresh);
        expect(existsSync(fresh)).toBe(true);
      });
    });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(false);
  });

  // As a scanner killed during a config audit, or a trivy worker killed with it, leaves one.
  it.each([
    {
      what: 'a config audit batch, with the workload manifests in it',
      prefix: 'fleetscan-audit-',
      file: '0.yaml',
    },
    {
      what: "a trivy worker's directory, with the layers in it",
      prefix: 'fleetscan-trivy-',
      file: 'trivy-1/image-layers-2/l',
    },
  ])('removes $what a killed scanner left', async ({ prefix, file }) => {
    const left = await mkdtemp(join(tmpdir(), prefix));
    try {
      await mkdir(dirname(join(left, file)), { recursive: true });
      await writeFile(join(left, file), 'left\n');
      const hourAgo = new Date(Date.now() - 3600_000);
      await utimes(left, hourAgo, hourAgo);
      expect(await sweepScratchDirs(600_000)).toContain(left);
      expect(existsSync(left)).toBe(false);
    } finally {
      await rm(left, { recursive: true, force: true });
    }
  });
});
