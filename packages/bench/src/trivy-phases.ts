import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigAuditor, type TrivyRunner } from '@fleetscan/trivy';
import { stringify } from 'yaml';
import { childCpu, readCpu } from './proc.ts';
import { mapLimit } from './stats.ts';

const ownChildrenCpu = () => {
  const c = readCpu(process.pid);
  return c ? childCpu(c) : 0;
};
const clock = () => performance.now();

export interface FloorResult {
  /** Wall time of each image scan, back to back. */
  imageMs: number[];
  /** Wall time of the audit worker over every owner's manifest (its start included). */
  configMs: number;
  configRuns: number;
  manifests: number;
  /** CPU seconds of those trivy processes. */
  trivyCpuSec: number;
}

/**
 * What trivy alone needs for the work: every image scanned once, one after the other, and every
 * owner's manifest audited by the scanner's engine, the audit worker (its start, compiling the
 * checks, included), in requests of FLOOR_AUDIT_CHUNK.
 */
export async function measureFloor(
  runner: TrivyRunner,
  auditorBin: string,
  images: readonly string[],
  manifests: readonly Record<string, unknown>[],
): Promise<FloorResult> {
  const cpu0 = ownChildrenCpu();
  const imageMs: number[] = [];
  for (const ref of images) {
    const t = clock();
    await runner.scanImage(ref, { scanners: ['vuln'] });
    imageMs.push(clock() - t);
  }
  let configRuns = 0;
  const t = clock();
  const auditor = createConfigAuditor({
    bin: auditorBin,
    timeoutMs: 900_000,
    logger: { debug: () => {}, warn: () => {} },
  });
  try {
    for (let start = 0; start < manifests.length; start += FLOOR_AUDIT_CHUNK) {
      await auditor.audit(manifests.slice(start, start + FLOOR_AUDIT_CHUNK));
      configRuns++;
    }
  } finally {
    // Waits for the worker to exit: its CPU then counts in this process's children.
    await auditor.close();
  }
  const configMs = clock() - t;
  return { imageMs, configMs, configRuns, manifests: manifests.length, trivyCpuSec: ownChildrenCpu() - cpu0 };
}

/** Manifests per audit worker request in the floor (a response line stays well under its limit). */
export const FLOOR_AUDIT_CHUNK = 2000;

export interface BaselineOwner {
  images: readonly string[];
  manifest: Record<string, unknown>;
}

export interface BaselineResult {
  owners: number;
  imageRuns: number;
  configRuns: number;
  concurrency: number;
  wallMs: number;
  trivyCpuSec: number;
  failures: number;
  /** Mean wall time of one trivy run under this concurrency, by type. */
  meanImageMs: number;
  meanConfigMs: number;
}

/**
 * trivy-operator's model with our parts: per owner, one image scan per container (no sharing
 * between owners) and one trivy process for its config audit; at most `concurrency` at once.
 */
export async function runBaseline(
  runner: TrivyRunner,
  owners: readonly BaselineOwner[],
  concurrency: number,
): Promise<BaselineResult> {
  const root = await mkdtemp(join(tmpdir(), 'fleetscan-bench-baseline-'));
  type Task = { kind: 'image'; ref: string } | { kind: 'config'; dir: string };
  const tasks: Task[] = [];
  for (const [i, o] of owners.entries()) {
    for (const ref of o.images) tasks.push({ kind: 'image', ref });
    const dir = join(root, String(i));
    await mkdir(dir);
    await writeFile(join(dir, 'manifest.yaml'), stringify(o.manifest));
    tasks.push({ kind: 'config', dir });
  }
  const cpu0 = ownChildrenCpu();
  const t0 = clock();
  let failures = 0;
  const times = { image: [] as number[], config: [] as number[] };
  try {
    await mapLimit(tasks, concurrency, async (task) => {
      const t = clock();
      try {
        if (task.kind === 'image') await runner.scanImage(task.ref, { scanners: ['vuln'] });
        else await runner.auditConfigs(task.dir);
      } catch {
        failures++;
      }
      times[task.kind].push(clock() - t);
    });
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    return {
      owners: owners.length,
      imageRuns: times.image.length,
      configRuns: times.config.length,
      concurrency,
      wallMs: clock() - t0,
      trivyCpuSec: ownChildrenCpu() - cpu0,
      failures,
      meanImageMs: mean(times.image),
      meanConfigMs: mean(times.config),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
