import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTrivyDb, loadStackConfig, locateTools, vulnDbFixture } from '@fleetscan/stack';
import { parse, stringify } from 'yaml';

export interface Advisory {
  id: string;
  title: string;
  description: string;
  severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';
  publishedDate: string;
  references?: string[];
  affects: { platform: string; package: string; fixedVersion?: string; status?: string }[];
}

/**
 * A trivy cache dir of this test's own: the project's fixture DB plus
 * `extra` advisories, under a new DB version (`updatedAt`). Real trivy reads
 * it; only the advisories differ.
 */
export async function buildTestDb(opts: {
  extra: Advisory[];
  updatedAt: string;
  into?: string;
}): Promise<string> {
  const dir = opts.into ?? (await mkdtemp(join(tmpdir(), 'fleetscan-trivydb-')));
  const fixture = parse(await readFile(vulnDbFixture, 'utf8')) as {
    updatedAt: string;
    vulnerabilities: Advisory[];
  };
  fixture.updatedAt = opts.updatedAt;
  fixture.vulnerabilities = [...fixture.vulnerabilities, ...opts.extra];
  const file = join(dir, 'fixture.yaml');
  await writeFile(file, stringify(fixture));
  const tools = locateTools(loadStackConfig().cacheDir);
  await buildTrivyDb({ dbfixture: tools.dbfixture, cacheDir: dir, fixture: file });
  return dir;
}

/** A private copy of a trivy cache dir (its DB), so a test can swap the DB under one scanner only. */
export async function copyTrivyCache(src: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-trivycache-'));
  await cp(join(src, 'db'), join(dir, 'db'), { recursive: true });
  return dir;
}
