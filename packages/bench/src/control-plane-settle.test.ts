import { describe, expect, it } from 'vitest';
import { controllerWrites, waitControlPlaneSettled } from './control-plane-settle.ts';

describe("the control plane settling before fleetscan's cold start", () => {
  it('counts the controllers’ writes only: not reads, not other resources', () => {
    expect(
      controllerWrites({
        'PUT deployments/status': 10,
        'POST pods': 3,
        'POST controllerrevisions': 1,
        'GET deployments': 50,
        'WATCH replicasets': 4,
        'APPLY vulnerabilityreports': 99,
        'POST events': 7,
      }),
    ).toBe(14);
  });

  it('waits until the writes stand still for the quiet time, and gives up at the bound', async () => {
    let t = 0;
    const readings = [1, 5, 9, 9, 9, 9, 9, 9];
    let i = 0;
    const r = await waitControlPlaneSettled({
      read: async () => ({ 'PUT deployments/status': readings[Math.min(i++, readings.length - 1)] ?? 0 }),
      now: () => t,
      quietMs: 4000,
      maxMs: 60_000,
      wait: async (ms) => {
        t += ms;
      },
    });
    // Moving until t=4000 (the third reading), still for 4 s after.
    expect(r).toEqual({ waitedMs: 8000, settled: true });

    t = 0;
    let n = 0;
    const busy = await waitControlPlaneSettled({
      read: async () => ({ 'POST pods': n++ }),
      now: () => t,
      quietMs: 4000,
      maxMs: 10_000,
      wait: async (ms) => {
        t += ms;
      },
    });
    expect(busy).toEqual({ waitedMs: 10_000, settled: false });
  });
});
