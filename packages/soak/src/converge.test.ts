import { describe, expect, it } from 'vitest';
import { waitForFleet } from './converge.ts';
import { checkFleet, type FleetCheck } from './fleet-check.ts';

const clean = checkFleet([], []);
const dirty = checkFleet(
  [{ kind: 'Pod', namespace: 'n', name: 'p', uid: 'u', specHash: 'h', containers: [] }],
  [],
);

/** A check answering from a script, on a clock that moves 1000 ms per look. */
function scripted(answers: (FleetCheck | Error)[]) {
  let t = 0;
  let i = 0;
  return {
    now: () => t,
    check: async () => {
      t += 1000;
      const a = answers[Math.min(i++, answers.length - 1)] as FleetCheck | Error;
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

describe('waitForFleet', () => {
  it('ends at two clean looks in a row and reports when the first of them was', async () => {
    const s = scripted([dirty, dirty, clean, dirty, clean, clean]);
    const c = await waitForFleet({ ...s, timeoutMs: 60_000, intervalMs: 0 });
    expect(c).toMatchObject({ converged: true, ms: 5000, checks: 6 });
  });

  it('counts a failing look (the API server is down) as not clean', async () => {
    const s = scripted([clean, new Error('ECONNREFUSED'), clean, clean]);
    expect(await waitForFleet({ ...s, timeoutMs: 60_000, intervalMs: 0 })).toMatchObject({
      converged: true,
      ms: 3000,
    });
  });

  it('waits for idle too', async () => {
    const s = scripted([clean]);
    let idleAnswers = [false, false, true, true];
    const c = await waitForFleet({
      ...s,
      idle: async () => {
        const [a, ...rest] = idleAnswers;
        idleAnswers = rest.length ? rest : [true];
        return a ?? true;
      },
      timeoutMs: 60_000,
      intervalMs: 0,
    });
    expect(c).toMatchObject({ converged: true, ms: 3000 });
  });

  it('gives up at the timeout with the last check', async () => {
    const s = scripted([dirty]);
    const c = await waitForFleet({ ...s, timeoutMs: 10_000, intervalMs: 0 });
    expect(c.converged).toBe(false);
    expect(c.check).toBe(dirty);
    expect(c.ms).toBe(10_000);
  });
});
