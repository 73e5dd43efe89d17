import { describe, expect, it } from 'vitest';
import {
  describeSlowest,
  expectedLoadMs,
  imageNamespacePairs,
  latencyRatios,
  probeFigures,
  probeIntervalMs,
  probeWorkloads,
} from './probe-plan.ts';

describe('probes: new workloads under load', () => {
  it('are single-container Deployments in a namespace of their own, over the images in turn', () => {
    const ws = probeWorkloads({ phase: 'db', count: 3, images: ['a', 'b'] });
    expect(ws.map((w) => [w.kind, w.namespace, w.name, w.containers[0]?.image])).toEqual([
      ['Deployment', 'bench-probes', 'db-000', 'a'],
      ['Deployment', 'bench-probes', 'db-001', 'b'],
      ['Deployment', 'bench-probes', 'db-002', 'a'],
    ]);
    expect(() => probeWorkloads({ phase: 'x', count: 1, images: [] })).toThrow(/no images/);
  });

  it('are spread over the expected length of the load unless an interval is asked for', () => {
    expect(probeIntervalMs({ askedSec: 7, expectedMs: 1e6, probes: 20 })).toBe(7000);
    expect(probeIntervalMs({ askedSec: 0, expectedMs: 400_000, probes: 20 })).toBe(20_000);
    expect(probeIntervalMs({ askedSec: 0, expectedMs: 100, probes: 20 })).toBe(1000);
  });

  it('expect a DB update to last as long as the refresh queue takes to send one request per image and namespace', () => {
    expect(
      expectedLoadMs({ load: 'db-update', imageNamespacePairs: 4000, batchSize: 100, intervalSec: 10 }),
    ).toBe(400_000);
    expect(expectedLoadMs({ load: 'cold-start', owners: 1000 })).toBe(50_000);
    const fleet = [
      { kind: 'Deployment' as const, namespace: 'a', name: 'w0', containers: [{ name: 'app', image: 'x' }] },
      {
        kind: 'Deployment' as const,
        namespace: 'a',
        name: 'w1',
        containers: [
          { name: 'app', image: 'x' },
          { name: 'side1', image: 'y' },
        ],
      },
      { kind: 'Deployment' as const, namespace: 'b', name: 'w2', containers: [{ name: 'app', image: 'x' }] },
    ];
    expect(imageNamespacePairs(fleet)).toBe(3);
  });

  it('give latency quantiles of the reported ones, and count the ones never reported', () => {
    const f = probeFigures(
      [
        { createdAt: 1000, doneAt: 3000 },
        { createdAt: 2000, doneAt: undefined },
        { createdAt: 5000, doneAt: 9000 },
      ],
      500,
    );
    expect(f).toEqual({
      created: 3,
      reported: 2,
      p50Ms: 2000,
      p99Ms: 4000,
      maxMs: 4000,
      latenciesMs: [2000, 4000],
      arrivalsMs: [500, 1500, 4500],
      slowest: { index: 2, arrivalMs: 4500, latencyMs: 4000, ownerMs: undefined, reports: [] },
    });
  });

  it('take the slowest apart: which report came when after its owner', () => {
    const f = probeFigures(
      [
        { createdAt: 0, ownerAt: 500, doneAt: 1500 },
        {
          createdAt: 10_000,
          ownerAt: 10_300,
          doneAt: 21_300,
          reports: [
            { kind: 'configauditreports', at: 10_800 },
            { kind: 'vulnerabilityreports', at: 21_300 },
          ],
        },
      ],
      0,
    );
    expect(f.slowest).toEqual({
      index: 1,
      arrivalMs: 10_000,
      latencyMs: 11_300,
      ownerMs: 300,
      reports: [
        { kind: 'configauditreports', ms: 500 },
        { kind: 'vulnerabilityreports', ms: 11_000 },
      ],
    });
    expect(describeSlowest(f.slowest as NonNullable<typeof f.slowest>)).toBe(
      'slowest: probe 1 (at 10.0 s): 11.3 s; owner 0.3 s, then configauditreports +0.5 s, vulnerabilityreports +11.0 s',
    );
  });

  it('split each latency into the control plane’s part (to the ReplicaSet) and fleetscan’s', () => {
    const f = probeFigures(
      [
        { createdAt: 0, ownerAt: 1000, doneAt: 4000 },
        { createdAt: 0, ownerAt: 3000, doneAt: 4000 },
        { createdAt: 0, ownerAt: 2000, doneAt: undefined },
      ],
      0,
    );
    expect([f.ownerP50Ms, f.ownerP99Ms, f.fleetscanP50Ms, f.fleetscanP99Ms]).toEqual([
      2000, 3000, 1000, 3000,
    ]);
  });

  it('meet the goal within 2× of the idle fleet at p50 and p99, every probe reported', () => {
    const idle = { p50Ms: 2000, p99Ms: 3000 };
    expect(latencyRatios({ p50Ms: 3000, p99Ms: 6000, created: 20, reported: 20 }, idle)).toEqual({
      p50: 1.5,
      p99: 2,
      met: true,
    });
    expect(latencyRatios({ p50Ms: 3000, p99Ms: 6100, created: 20, reported: 20 }, idle).met).toBe(false);
    expect(latencyRatios({ p50Ms: 3000, p99Ms: 4000, created: 20, reported: 19 }, idle).met).toBe(false);
    expect(latencyRatios({ p50Ms: undefined, p99Ms: undefined, created: 0, reported: 0 }, idle).met).toBe(
      false,
    );
  });
});
