import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrivyRunner } from '@fleetscan/trivy';
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
  /** Wall time of `trivy config` over every owner's manifest (one run per FLOOR_AUDIT_CHUNK). */
  configMs: number;
  configRuns: number;
  manifests: number;
  /** CPU seconds of those trivy processes. */
  trivyCpuSec: number;
}

/**
 * What trivy alone needs for the work: every image scanned once, one after the other, and one
 * batched config audit of all owners, written as the scanner writes a batch (one file each).
 */
export async function measureFloor(
  runner: TrivyRunner,
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
  let configMs = 0;
  let configRuns = 0;
  // trivy's JSON is ~50 kB per manifest: two thousand already pass the runner's 100 M output
  // limit, so large fleets are audited in chunks (each adds trivy's start-up, about a second).
  for (let start = 0; start < manifests.length; start += FLOOR_AUDIT_CHUNK) {
    const chunk = manifests.slice(start, start + FLOOR_AUDIT_CHUNK);
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-bench-floor-'));
    try {
      await Promise.all(chunk.map((m, i) => writeFile(join(dir, `${i}.yaml`), stringify(m))));
      const t = clock();
      await runner.auditConfigs(dir);
      configMs += clock() - t;
      configRuns++;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { imageMs, configMs, configRuns, manifests: manifests.length, trivyCpuSec: ownChildrenCpu() - cpu0 };
}

/** Manifests per `trivy config` run in the floor. */
export const FLOOR_AUDIT_CHUNK = 1000;

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
