import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TAR_END, tarFileHeader, tarPadding } from './tar-header.ts';

describe('tar headers', () => {
  it('make an archive that tar lists and extracts byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetscan-tar-'));
    try {
      const a = Buffer.from('hello');
      const b = Buffer.alloc(1000, 7);
      const archive = Buffer.concat([
        tarFileHeader('opt/data/a.bin', a.length, 1_704_067_200),
        a,
        tarPadding(a.length),
        tarFileHeader('opt/data/b.bin', b.length, 1_704_067_200),
        b,
        tarPadding(b.length),
        TAR_END,
      ]);
      expect(archive.length % 512).toBe(0);
      writeFileSync(join(dir, 'x.tar'), archive);
      const listing = execFileSync('tar', ['-tvf', join(dir, 'x.tar')], { encoding: 'utf8' });
      expect(listing).toMatch(/-rw-r--r-- root\/root\s+5 2024-01-01 00:00 opt\/data\/a\.bin/);
      expect(listing).toMatch(/1000 2024-01-01 00:00 opt\/data\/b\.bin/);
      execFileSync('tar', ['-xf', join(dir, 'x.tar'), '-C', dir]);
      expect(readFileSync(join(dir, 'opt/data/b.bin')).equals(b)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pads to whole blocks', () => {
    expect(tarPadding(512).length).toBe(0);
    expect(tarPadding(1).length).toBe(511);
  });
});
