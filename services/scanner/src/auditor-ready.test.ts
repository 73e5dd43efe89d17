import { createReadiness } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { watchAuditorReady } from './auditor-ready.ts';

const check = (r: ReturnType<typeof createReadiness>) =>
  r.ready().checks?.find((c) => c.name === 'config-audit-worker');

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the scanner is ready once its audit worker is', () => {
  it('is not ready while the checks compile, then ready', async () => {
    const readiness = createReadiness();
    let started!: (v: string) => void;
    const engine = {
      auditorReady: () => new Promise<string>((resolve) => (started = resolve)),
      auditorRunning: () => true,
    };
    watchAuditorReady(engine, readiness);
    expect(check(readiness)).toMatchObject({ ok: false, reason: 'compiling checks' });
    expect(readiness.ready().ok).toBe(false);
    started('0.74.0');
    await settle();
    expect(check(readiness)).toMatchObject({ ok: true, reason: 'checks of trivy 0.74.0 compiled' });
    expect(readiness.ready().ok).toBe(true);
  });

  it('says why a worker that could not start is not ready, and asks again at the next check, once at a time', async () => {
    const readiness = createReadiness();
    let calls = 0;
    const answers: ((ok: boolean) => void)[] = [];
    const engine = {
      auditorRunning: () => true,
      auditorReady: () => {
        calls++;
        return new Promise<string>((resolve, reject) =>
          answers.push((ok) => (ok ? resolve('0.74.0') : reject(new Error('spawn ENOENT')))),
        );
      },
    };
    const w = watchAuditorReady(engine, readiness);
    w.recheck(); // still asking: not asked twice
    expect(calls).toBe(1);
    answers[0]?.(false);
    await settle();
    expect(check(readiness)).toMatchObject({ ok: false, reason: 'did not start: Error: spawn ENOENT' });
    w.recheck();
    expect(calls).toBe(2);
    answers[1]?.(true);
    await settle();
    expect(check(readiness)?.ok).toBe(true);
    w.recheck(); // ready: not asked again
    expect(calls).toBe(2);
  });

  it('a worker that died after it was ready makes the scanner not ready at the next check, which starts it again', async () => {
    const readiness = createReadiness();
    let running = true;
    let calls = 0;
    const answers: ((v: string) => void)[] = [];
    const engine = {
      auditorRunning: () => running,
      auditorReady: () => {
        calls++;
        return new Promise<string>((resolve) => answers.push(resolve));
      },
    };
    const w = watchAuditorReady(engine, readiness);
    answers[0]?.('0.74.0');
    await settle();
    w.recheck(); // up and ready: nothing asked
    expect(calls).toBe(1);
    running = false;
    w.recheck();
    expect(check(readiness)).toMatchObject({ ok: false, reason: 'the worker exited; starting it again' });
    expect(calls).toBe(2);
    w.recheck(); // still starting: not asked twice
    expect(calls).toBe(2);
    running = true;
    answers[1]?.('0.74.0');
    await settle();
    expect(check(readiness)?.ok).toBe(true);
  });
});
