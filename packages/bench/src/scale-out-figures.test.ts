import { describe, expect, it } from 'vitest';
import { fleetTimes, linkUse, type ScaleOutRun, scaleGoal, speedups } from './scale-out-figures.ts';

const run = (scanners: number, imageConcurrency: number, imagesPerSec: number): ScaleOutRun => ({
  scanners,
  imageConcurrency,
  images: 6,
  wallMs: 6000 / imagesPerSec,
  imagesPerSec,
  pulledMb: 1650,
  trivyRuns: 6,
  scannerCpuSec: 1,
  trivyCpuSec: 10,
});

describe('scale-out figures', () => {
  it('compares every run with one scanner at IMAGE_CONCURRENCY 1', () => {
    expect(speedups([run(1, 1, 0.1), run(2, 1, 0.19), run(4, 1, 0.32), run(1, 2, 0.2)])).toEqual(
      [1, 1.9, 3.2, 2].map((v) => expect.closeTo(v, 10)),
    );
    expect(speedups([run(2, 1, 0.2)])).toEqual([undefined]);
  });

  it('holds S=2 to 1.8× and S=4 to 3×, at IMAGE_CONCURRENCY 1', () => {
    expect(scaleGoal({ scanners: 2, imageConcurrency: 1 })).toBe(1.8);
    expect(scaleGoal({ scanners: 4, imageConcurrency: 1 })).toBe(3);
    expect(scaleGoal({ scanners: 1, imageConcurrency: 1 })).toBeUndefined();
    expect(scaleGoal({ scanners: 2, imageConcurrency: 2 })).toBeUndefined();
  });

  it('says how much of what the link could carry for the scans at once it carried', () => {
    const link = { connMbps: 20, totalMbps: 50 };
    // One scan at a time: 20 MB/s possible; 10 MB/s carried.
    expect(linkUse({ scanners: 1, imageConcurrency: 1, pulledMb: 100, wallMs: 10_000 }, link)).toBe(0.5);
    // Four at once: capped by the link's 50 MB/s.
    expect(linkUse({ scanners: 2, imageConcurrency: 2, pulledMb: 500, wallMs: 10_000 }, link)).toBe(1);
  });

  it('times a fleet: each digest once against one job per owner', () => {
    expect(
      fleetTimes({ owners: 100, images: 6, bestImagesPerSec: 0.3, baseline: { jobs: 10, wallMs: 50_000 } }),
    ).toEqual({ fleetscanMs: 20_000, baselineMs: 500_000, ratio: 25 });
  });
});
