import { MB } from './link-pacing.ts';

/** Figures of --scale-out, from what it measured (pure). */

export interface ScaleOutRun {
  scanners: number;
  imageConcurrency: number;
  images: number;
  wallMs: number;
  imagesPerSec: number;
  /** Bytes the link carried during the run, MB. */
  pulledMb: number;
  trivyRuns: number;
  /** CPU seconds of the scanner processes and of their trivy children. */
  scannerCpuSec: number;
  trivyCpuSec: number;
}

export interface BaselineJobs {
  jobs: number;
  concurrency: number;
  dbMb: number;
  wallMs: number;
  failures: number;
  meanJobMs: number;
  /** Of a job: the DB download alone. */
  meanDbMs: number;
  pulledMb: number;
}

/** Images/s of each run over the first run with one scanner and IMAGE_CONCURRENCY 1. */
export function speedups(runs: readonly ScaleOutRun[]): (number | undefined)[] {
  const one = runs.find((r) => r.scanners === 1 && r.imageConcurrency === 1);
  return runs.map((r) => (one && one.imagesPerSec > 0 ? r.imagesPerSec / one.imagesPerSec : undefined));
}

/** The goals of issue 13: ≥ 1.8× with 2 replicas, ≥ 3× with 4 (IMAGE_CONCURRENCY 1). */
export const SCALE_GOALS: Readonly<Record<number, number>> = { 2: 1.8, 4: 3 };

export function scaleGoal(run: Pick<ScaleOutRun, 'scanners' | 'imageConcurrency'>): number | undefined {
  return run.imageConcurrency === 1 ? SCALE_GOALS[run.scanners] : undefined;
}

/**
 * Whether a run was bound by pulling: the link carried at least half of what its concurrent
 * connections could (one per image scan at once: per-connection bandwidth × scans at once, capped
 * by the link). CPU-bound runs leave the link idle.
 */
export function linkUse(
  run: Pick<ScaleOutRun, 'scanners' | 'imageConcurrency' | 'pulledMb' | 'wallMs'>,
  link: { connMbps: number; totalMbps: number },
): number {
  const capacity = Math.min(link.totalMbps, link.connMbps * run.scanners * run.imageConcurrency);
  const carried = run.pulledMb / (run.wallMs / 1000);
  return carried / capacity;
}

/**
 * A fleet of `owners` owners over these images: fleetscan pulls and scans each digest once; the
 * per-owner model runs one job per owner (a DB download, then a pull and scan of its image). Times
 * at the rates measured; the model's jobs ran back to back, without trivy-operator's 30 s push-back
 * when its 10 slots are taken (which favours it).
 */
export function fleetTimes(o: {
  owners: number;
  images: number;
  bestImagesPerSec: number;
  baseline: Pick<BaselineJobs, 'jobs' | 'wallMs'>;
}): { fleetscanMs: number; baselineMs: number; ratio: number } {
  const fleetscanMs = (o.images / o.bestImagesPerSec) * 1000;
  const baselineMs = (o.baseline.wallMs * o.owners) / o.baseline.jobs;
  return { fleetscanMs, baselineMs, ratio: baselineMs / fleetscanMs };
}

export const toMb = (bytes: number) => bytes / MB;
