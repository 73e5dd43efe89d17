import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDbMetadata, readDbInfo } from './dbinfo.ts';
import { TrivyErrorCode } from './errors.ts';

// Written by the stack's dbfixture tool, as trivy writes it.
const fixture = new URL('../testdata/db-metadata.json', import.meta.url);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('readDbInfo', () => {
  it('reads <cacheDir>/db/metadata.json and derives the cache key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-dbinfo-'));
    dirs.push(dir);
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'db', 'metadata.json'), await readFile(fixture));
    expect(await readDbInfo(dir)).toEqual({
      version: 2,
      updatedAt: '2026-11-01T00:00:00Z',
      nextUpdate: '2126-11-01T00:00:00Z',
      downloadedAt: '2026-11-01T00:00:00Z',
      key: '2:2026-11-01T00:00:00Z',
    });
  });

  it('a missing DB is a retryable FAILED', async () => {
    await expect(readDbInfo('/nonexistent-fleetscan')).rejects.toMatchObject({
      name: 'TrivyError',
      code: TrivyErrorCode.Failed,
      message: expect.stringContaining('/nonexistent-fleetscan/db/metadata.json'),
    });
  });

  it('a broken file is FAILED too (a broken cache dir, not a bad scan)', () => {
    expect(() => parseDbMetadata('{"Version":2}')).toThrow(
      expect.objectContaining({ code: TrivyErrorCode.Failed }),
    );
    expect(() => parseDbMetadata('nope')).toThrow(expect.objectContaining({ code: TrivyErrorCode.Failed }));
  });
});
