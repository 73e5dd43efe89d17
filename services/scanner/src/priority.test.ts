import { describe, expect, it } from 'vitest';
import { createPriority } from './priority.ts';

/** A step that runs until released or aborted, recording how it was started. */
function steps() {
  const started: ('niced' | 'normal')[] = [];
  let release: (v: string) => void = () => {};
  const step = (o: { signal: AbortSignal; background?: true }) =>
    new Promise<string>((resolve, reject) => {
      started.push(o.background ? 'niced' : 'normal');
      release = resolve;
      o.signal.addEventListener('abort', () => reject(new Error('killed')), { once: true });
    });
  return { started, step, release: (v: string) => release(v) };
}

describe('priority of a request’s trivy work', () => {
  it('a niced run promoted while it runs is killed and run again at normal priority, once', async () => {
    let promoted = 0;
    const p = createPriority(true, () => promoted++);
    const s = steps();
    const out = p.run(new AbortController().signal, s.step);
    expect(s.started).toEqual(['niced']);
    p.promote();
    p.promote();
    await new Promise((r) => setImmediate(r));
    expect(s.started).toEqual(['niced', 'normal']);
    s.release('done');
    expect(await out).toBe('done');
    expect(promoted).toBe(1);
    expect(p.background).toBe(false);
  });

  it('the request’s own bound still ends a niced run: no second run', async () => {
    const p = createPriority(true);
    const s = steps();
    const bound = new AbortController();
    const out = p.run(bound.signal, s.step);
    bound.abort();
    await expect(out).rejects.toThrow('killed');
    expect(s.started).toEqual(['niced']);
  });

  it('urgent work is never niced, and promoting it does nothing', async () => {
    let promoted = 0;
    const p = createPriority(false, () => promoted++);
    const s = steps();
    const out = p.run(new AbortController().signal, s.step);
    p.promote();
    s.release('ok');
    expect(await out).toBe('ok');
    expect(s.started).toEqual(['normal']);
    expect(promoted).toBe(0);
  });
});
