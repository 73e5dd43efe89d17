import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('removes config audit batches a killed scanner left, with the workload manifests in them', async () => {
    // As a scanner killed during a config audit leaves one.
    const left = await mkdtemp(join(tmpdir(), 'fleetscan-audit-'));
    try {
      await writeFile(join(left, '0.yaml'), 'kind: Deployment\n');
      const hourAgo = new Date(Date.now() - 3600_000);
      await utimes(left, hourAgo, hourAgo);
      expect(await sweepScratchDirs(600_000)).toContain(left);
      expect(existsSync(left)).toBe(false);
    } finally {
      await rm(left, { recursive: true, force: true });
    }
  });
});
