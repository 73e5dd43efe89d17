import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { repoRoot } from '@fleetscan/stack';
import type { BenchResult } from './result.ts';

/** The machine the run is on, as the result records it. */
export function machine(): BenchResult['machine'] {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {}
  return {
    nproc: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel,
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
}

/** The commit measured, and how many files differ from it. */
export function gitInfo(): BenchResult['git'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirtyFiles: git('status', '--porcelain').split('\n').filter(Boolean).length,
    };
  } catch {
    return { commit: 'unknown', dirtyFiles: 0 };
  }
}
