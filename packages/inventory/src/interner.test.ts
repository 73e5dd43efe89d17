import { describe, expect, it } from 'vitest';
import { createInterner } from './interner.ts';

describe('createInterner', () => {
  it('gives the one held value for a key, and makes a value only for a new key', () => {
    const t = createInterner<{ v: number }>();
    let made = 0;
    const make = (v: number) => () => {
      made++;
      return { v };
    };
    const a = t.intern('a', make(1));
    expect(t.intern('a', make(2))).toBe(a);
    expect(t.intern('b', make(3))).not.toBe(a);
    expect(made).toBe(2);
    expect(t.size).toBe(2);
  });

  it('numbers held values, the same number for the same value', () => {
    const t = createInterner<object>();
    const a = t.intern('a', () => ({}));
    const b = t.intern('b', () => ({}));
    expect(t.idOf(a)).toBe(t.idOf(a));
    expect(t.idOf(a)).not.toBe(t.idOf(b));
    const stray = {};
    expect(t.idOf(stray)).toBe(t.idOf(stray));
  });
});

describe('createInterner and the garbage collector', () => {
  it('forgets a key once nothing holds its value', async () => {
    // In a child with --expose-gc: collection is what is being tested, so force it.
    const { execFile } = await import('node:child_process');
    const script = `
      const { createInterner } = await import(${JSON.stringify(new URL('./interner.ts', import.meta.url).href)});
      const t = createInterner();
      let held = [];
      for (let i = 0; i < 1000; i++) held.push(t.intern('k' + i, () => ({ i })));
      const kept = held[7];
      held = null;
      for (let round = 0; round < 50 && t.size > 1; round++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log(JSON.stringify({ size: t.size, kept: t.intern('k7', () => ({ i: -1 })) === kept }));
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--expose-gc', '--input-type=module', '-e', script],
        { timeout: 30_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(out)).toEqual({ size: 1, kept: true });
  });
});
