import { readFileSync } from 'node:fs';

// The integration tests' copy of packages/trivy/src/testing/processes.ts: a test here cannot import
// another project's source.

/** Running, as opposed to gone or a zombie nobody reaped yet (an orphan's parent may be slow to). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
