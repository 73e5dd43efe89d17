import { existsSync } from 'node:fs';
import { readFile, utimes } from 'node:fs/promises';
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
});
