import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'fleetscan-scan-';

/**
 * Runs `fn` with a private temporary directory (mode 0700, files 0600) for the inputs trivy
 * reads from files (a saved report, an SBOM, an ignore file, a Rego policy), removed afterwards
 * whatever happens.
 */
export async function withScratchDir<T>(fn: (files: ScratchFiles) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), PREFIX));
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
 * Removes scratch directories a killed scanner left behind (SIGKILL runs no `finally`). Only those
 * older than `olderThanMs`: every live one belongs to one trivy run, which the runner's timeout
 * bounds, so scanners sharing a /tmp never remove each other's. Returns what was removed.
 */
export async function sweepScratchDirs(olderThanMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
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
