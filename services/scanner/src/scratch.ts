import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRIVY_WORKER_DIR_PREFIX } from '@fleetscan/trivy';

/**
 * What the scanner keeps in temporary directories: `scan` the inputs of one trivy run (a saved
 * report, an SBOM, an ignore file, a Rego policy), `audit` one config audit batch's workload
 * manifests. Both can hold what others must not read, and both are left behind by a killed scanner.
 */
export const SCRATCH_PREFIXES = { scan: 'fleetscan-scan-', audit: 'fleetscan-audit-' } as const;

/**
 * Runs `fn` with a private temporary directory (mode 0700, files 0600), removed afterwards
 * whatever happens.
 */
export async function withScratchDir<T>(
  fn: (files: ScratchFiles) => Promise<T>,
  kind: keyof typeof SCRATCH_PREFIXES = 'scan',
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), SCRATCH_PREFIXES[kind]));
  // mkdtemp makes it 0700; said again so a reader of this file knows it is meant.
  await chmod(dir, 0o700);
  try {
    return await fn({
      dir,
      async write(name, content) {
        const file = join(dir, name);
        await writeFile(file, content, { mode: 0o600 });
        return file;
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ScratchFiles {
  dir: string;
  /** Writes a file in the directory and returns its path. */
  write(name: string, content: string): Promise<string>;
}

/**
 * Removes scratch directories of either kind a killed scanner left behind (SIGKILL runs no
 * `finally`), and trivy workers' directories (with the layers a kill left in them). Only those
 * older than `olderThanMs`: every live scratch directory belongs to one trivy run, which the
 * runner's timeout bounds, and a worker's is touched at each of its runs, so scanners sharing a
 * /tmp never remove each other's in use (a worker idle since makes its own again). Returns what
 * was removed.
 */
export async function sweepScratchDirs(olderThanMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  const prefixes = [...Object.values(SCRATCH_PREFIXES), TRIVY_WORKER_DIR_PREFIX];
  for (const name of await readdir(tmpdir())) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const dir = join(tmpdir(), name);
    try {
      if (now - (await stat(dir)).mtimeMs < olderThanMs) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
