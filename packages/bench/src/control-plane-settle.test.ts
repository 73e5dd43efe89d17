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
    const readings = [1, 5, 9, 9, 9, 9, 9, 9];
    let i = 0;
    const r = await settleOnFakeClock(
      async () => ({ 'PUT deployments/status': readings[Math.min(i++, readings.length - 1)] ?? 0 }),
      60_000,
    );
    // Moving until t=4000 (the third reading), still for 4 s after.
    expect(r).toEqual({ waitedMs: 8000, settled: true });

    let n = 0;
    const busy = await settleOnFakeClock(async () => ({ 'POST pods': n++ }), 10_000);
    expect(busy).toEqual({ waitedMs: 10_000, settled: false });
  });
});

/** waitControlPlaneSettled with a 4-s quiet time on a clock that moves only by its waits. */
function settleOnFakeClock(read: () => Promise<Record<string, number>>, maxMs: number) {
  let t = 0;
  return waitControlPlaneSettled({
    read,
    now: () => t,
    quietMs: 4000,
    maxMs,
    wait: async (ms) => {
      t += ms;
    },
  });
}
