/**
 * What the soak does to the cluster, decided without touching it: a seeded sequence of changes
 * (create, spec update, image change, delete) that keeps the population near its target, and when
 * each change is due at a fixed rate. churn-apply.ts turns a change into API calls.
 */

export type SoakKind = 'Deployment' | 'StatefulSet';

export interface SoakWorkload {
  kind: SoakKind;
  namespace: string;
  name: string;
  /** One image per container; the first container is `app`, the others `side<i>`. */
  images: string[];
  /** Bumped by every spec update: a pod template annotation, so a new pod spec hash. */
  revision: number;
}

export type ChurnOp =
  | { op: 'create'; workload: SoakWorkload }
  /** A pod template change that keeps the images (a new spec hash: new reports from cached scans). */
  | { op: 'update'; workload: SoakWorkload }
  /** One container's image changes. */
  | { op: 'image'; workload: SoakWorkload }
  | { op: 'delete'; workload: SoakWorkload };

export type ChurnOpName = ChurnOp['op'];

export interface ChurnOptions {
  seed: number;
  /** Population the churn keeps near. */
  target: number;
  images: readonly string[];
  namespaces: readonly string[];
  /** Name prefix, unique per run. */
  prefix: string;
}

export interface Churn {
  /** The initial fleet: `target` creates. */
  initial(): ChurnOp[];
  /** The next change, applied to the model at once. */
  next(): ChurnOp;
  /** Workloads that exist in the model now. */
  live(): readonly SoakWorkload[];
}

/** mulberry32: a small seeded PRNG, so a run's sequence can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Of every change: 30 % spec updates, 25 % image changes, 22.5 % creates and 22.5 % deletes; a
 * create becomes a delete above 110 % of the target and the reverse below 90 %, so the population
 * walks around the target. Every fifth workload is a StatefulSet (updated in place: same owner, new
 * spec hash), the rest Deployments (a new ReplicaSet each time); every fourth has two containers.
 */
export function createChurn(opts: ChurnOptions): Churn {
  if (opts.images.length < 2) throw new Error('the churn needs at least 2 images');
  if (opts.namespaces.length === 0) throw new Error('the churn needs a namespace');
  if (opts.target < 1) throw new Error('the churn needs a target of at least 1');
  const random = seededRandom(opts.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const live = new Map<string, SoakWorkload>();
  let created = 0;

  const create = (): ChurnOp => {
    const i = created++;
    const containers = i % 4 === 3 ? 2 : 1;
    const workload: SoakWorkload = {
      kind: i % 5 === 2 ? 'StatefulSet' : 'Deployment',
      namespace: opts.namespaces[i % opts.namespaces.length] as string,
      name: `${opts.prefix}-${String(i).padStart(5, '0')}`,
      images: Array.from({ length: containers }, () => pick(opts.images)),
      revision: 0,
    };
    live.set(workload.name, workload);
    return { op: 'create', workload: { ...workload, images: [...workload.images] } };
  };
  const someLive = () => pick([...live.values()]);

  return {
    initial: () => Array.from({ length: opts.target }, create),
    next(): ChurnOp {
      if (live.size === 0) return create();
      const r = random();
      let op: ChurnOpName = r < 0.3 ? 'update' : r < 0.55 ? 'image' : r < 0.775 ? 'create' : 'delete';
      if (op === 'create' && live.size > opts.target * 1.1) op = 'delete';
      else if (op === 'delete' && live.size < opts.target * 0.9) op = 'create';
      if (op === 'create') return create();
      const w = someLive();
      switch (op) {
        case 'delete':
          live.delete(w.name);
          return { op, workload: w };
        case 'update':
          w.revision++;
          return { op, workload: { ...w, images: [...w.images] } };
        case 'image': {
          const c = Math.floor(random() * w.images.length);
          const others = opts.images.filter((img) => img !== w.images[c]);
          w.images[c] = pick(others);
          return { op, workload: { ...w, images: [...w.images] } };
        }
      }
    },
    live: () => [...live.values()],
  };
}

/** How many changes are due `elapsedMs` after the start at `ratePerSecond`: the fixed-rate clock. */
export function dueCount(elapsedMs: number, ratePerSecond: number): number {
  if (elapsedMs < 0) return 0;
  return Math.floor((elapsedMs * ratePerSecond) / 1000) + 1;
}

/** When change `index` (from 0) is due, in milliseconds after the start. */
export function dueAt(index: number, ratePerSecond: number): number {
  return (index * 1000) / ratePerSecond;
}
