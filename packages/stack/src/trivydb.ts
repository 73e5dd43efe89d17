import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { StackError, StackErrorCode } from './errors.ts';
import { repoRoot } from './tools.ts';

export const vulnDbFixture = join(repoRoot, 'packages', 'stack', 'fixtures', 'vulndb.yaml');

/**
 * Builds trivy's vulnerability DB from the readable fixture into
 * `<cacheDir>/db`, where `trivy --cache-dir <cacheDir> --skip-db-update` reads it.
 */
export async function buildTrivyDb(opts: {
  dbfixture: string;
  cacheDir: string;
  fixture?: string;
}): Promise<void> {
  const out = join(opts.cacheDir, 'db');
  await mkdir(out, { recursive: true });
  const res = await execa(opts.dbfixture, ['-in', opts.fixture ?? vulnDbFixture, '-out', out], {
    reject: false,
  });
  if (res.exitCode !== 0) {
    throw new StackError(StackErrorCode.StartFailed, 'trivy-db', `dbfixture exited ${res.exitCode}`, {
      output: `${res.stdout}\n${res.stderr}`.trim(),
    });
  }
}
