import { describe, expect, it } from 'vitest';
import { createChurn, dueAt, dueCount, seededRandom } from './churn.ts';

const opts = {
  seed: 42,
  target: 40,
  images: ['r/a:1', 'r/b:1', 'r/c:1', 'r/d:1'],
  namespaces: ['ns-0', 'ns-1'],
  prefix: 'w',
};

describe('the churn', () => {
  it('starts with the target population, spread over the namespaces, with StatefulSets and second containers', () => {
    const churn = createChurn(opts);
    const initial = churn.initial();
    expect(initial).toHaveLength(40);
    expect(initial.every((op) => op.op === 'create')).toBe(true);
    const ws = initial.map((op) => op.workload);
    expect(new Set(ws.map((w) => w.name)).size).toBe(40);
    expect(new Set(ws.map((w) => w.namespace))).toEqual(new Set(opts.namespaces));
    expect(ws.filter((w) => w.kind === 'StatefulSet')).toHaveLength(8);
    expect(ws.filter((w) => w.images.length === 2)).toHaveLength(10);
    expect(churn.live()).toHaveLength(40);
  });

  it('is repeatable from its seed', () => {
    const run = (seed: number) => {
      const c = createChurn({ ...opts, seed });
      c.initial();
      return Array.from({ length: 200 }, () => c.next());
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('mixes every kind of change and keeps the population near its target', () => {
    const churn = createChurn(opts);
    churn.initial();
    const count: Record<string, number> = {};
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = 0; i < 5000; i++) {
      const op = churn.next();
      count[op.op] = (count[op.op] ?? 0) + 1;
      min = Math.min(min, churn.live().length);
      max = Math.max(max, churn.live().length);
    }
    for (const op of ['create', 'update', 'image', 'delete']) expect(count[op], op).toBeGreaterThan(500);
    expect(min).toBeGreaterThanOrEqual(35);
    expect(max).toBeLessThanOrEqual(45);
  });

  it('changes the model as it goes: an update bumps the revision, an image change swaps one image, a delete removes', () => {
    const churn = createChurn(opts);
    churn.initial();
    for (let i = 0; i < 500; i++) {
      const before = new Map(churn.live().map((w) => [w.name, { ...w, images: [...w.images] }]));
      const op = churn.next();
      const w = op.workload;
      const was = before.get(w.name);
      const now = churn.live().find((x) => x.name === w.name);
      switch (op.op) {
        case 'create':
          expect(was).toBeUndefined();
          expect(now).toEqual(w);
          break;
        case 'delete':
          expect(was).toBeDefined();
          expect(now).toBeUndefined();
          break;
        case 'update':
          expect(w.revision).toBe((was?.revision ?? -1) + 1);
          expect(w.images).toEqual(was?.images);
          expect(now).toEqual(w);
          break;
        case 'image': {
          const changed = w.images.filter((img, j) => img !== was?.images[j]);
          expect(changed).toHaveLength(1);
          expect(w.revision).toBe(was?.revision);
          expect(now).toEqual(w);
          break;
        }
      }
    }
  });

  it('hands out copies: later changes do not rewrite an op already returned', () => {
    const churn = createChurn({ ...opts, target: 1 });
    const [first] = churn.initial();
    const images = [...(first?.workload.images ?? [])];
    for (let i = 0; i < 50; i++) churn.next();
    expect(first?.workload.images).toEqual(images);
  });

  it('refuses settings it cannot churn with', () => {
    expect(() => createChurn({ ...opts, images: ['only'] })).toThrow(/2 images/);
    expect(() => createChurn({ ...opts, namespaces: [] })).toThrow(/namespace/);
    expect(() => createChurn({ ...opts, target: 0 })).toThrow(/target/);
  });
});

describe('the fixed-rate clock', () => {
  it('makes change i due at i / rate seconds', () => {
    expect(dueAt(0, 2)).toBe(0);
    expect(dueAt(5, 2)).toBe(2500);
    expect(dueAt(3, 0.5)).toBe(6000);
  });

  it('counts the changes due so far, the one at time 0 included', () => {
    expect(dueCount(-1, 2)).toBe(0);
    expect(dueCount(0, 2)).toBe(1);
    expect(dueCount(499, 2)).toBe(1);
    expect(dueCount(500, 2)).toBe(2);
    expect(dueCount(60_000, 2)).toBe(121);
  });
});

describe('seededRandom', () => {
  it('gives numbers in [0, 1), the same for the same seed', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});
