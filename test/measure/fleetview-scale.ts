/**
 * The fleet view's read model at scale (docs/BENCHMARKS.md, "The fleet view").
 *
 *   node test/measure/fleetview-scale.ts [--owners 10000] [--clusters 3] [--runs 300] [--extra-runs 20]
 *
 * Builds the fleet stream's messages of `clusters` clusters of `owners` owners each (100 namespaces,
 * 1–2 containers per owner from 400 images, 0–120 findings per image from 3 000 CVEs, 0–12 failed
 * config checks per owner from 60; `--no-checks` leaves those out), and applies
 * them, decoded from bytes as ingest does, to an in-memory model in transactions of 500: the
 * model's part of a rebuild (the NATS read is not in it). Then it times "where does X run" (a random
 * CVE, first page of 50) and "what to fix first" (first page of 50) `runs` times each, then "where does digest D run",
 * "what is new" in the last 30 days and the clusters' posture `extra-runs` times, and reads
 * the model's size and the process's RSS; last, the apply time of `runs` owner updates, one message per
 * transaction as live ingest does (`--sidecar`: every owner also runs one shared image). No NATS, no
 * HTTP: the queries as the API runs them.
 */
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import {
  findingsKey,
  type ImageFindings,
  type InventoryMessage,
  type OwnerChecks,
  subjects,
} from '@fleetscan/bus';
import {
  clusterPosture,
  createModel,
  decodeFleetMessage,
  fixFirst,
  newSince,
  whereDigest,
  whereVulnerability,
} from '@fleetscan/fleetview';
import type { Severity } from '@fleetscan/reports';

const { values } = parseArgs({
  options: {
    owners: { type: 'string', default: '10000' },
    clusters: { type: 'string', default: '3' },
    runs: { type: 'string', default: '300' },
    // The questions outside the p99 goal, some of which take seconds at this size: fewer runs.
    'extra-runs': { type: 'string', default: '20' },
    // Leaves out the owners' failed config checks (as the model before them had none).
    'no-checks': { type: 'boolean', default: false },
    // Every owner also runs one shared image (a service mesh's sidecar): the worst case of the
    // ranking's upkeep, which recounts a digest's workloads when one of them changes.
    sidecar: { type: 'boolean', default: false },
  },
});
const OWNERS = Number(values.owners);
const CLUSTERS = Number(values.clusters);
const RUNS = Number(values.runs);
const EXTRA_RUNS = Number(values['extra-runs']);

// A fixed pseudo-random sequence: the same fleet every run.
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const SEVERITIES: Severity[] = [
  'CRITICAL',
  'HIGH',
  'HIGH',
  'MEDIUM',
  'MEDIUM',
  'MEDIUM',
  'LOW',
  'LOW',
  'UNKNOWN',
];
const cves = Array.from({ length: 3000 }, (_, i) => `CVE-2024-${10000 + i}`);
const images = Array.from({ length: 400 }, (_, i) => `registry.example/team-${i % 40}/app-${i}:1.${i % 7}`);
const imageFindings = images.map(() =>
  Array.from({ length: Math.floor(rnd() * 120) }, () => ({
    id: pick(cves),
    severity: pick(SEVERITIES),
    pkg: `pkg-${Math.floor(rnd() * 300)}`,
    installed: '1.0.0',
    fixed: rnd() < 0.6 ? '1.0.1' : '',
    title: 'a title of some length, as trivy-db gives them',
    firstSeen: new Date(Date.UTC(2026, 0, 1 + Math.floor(rnd() * 300))).toISOString(),
  })),
);
const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
const SIDECAR = 'registry.example/mesh/proxy:1.0';
const SIDECAR_INDEX = 999;
const imageOf = (i: number) => (i === SIDECAR_INDEX ? SIDECAR : (images[i] as string));

const enc = new TextEncoder();
const messages: { subject: string; data: Uint8Array }[] = [];
const at = '2026-06-01T00:00:00Z';
for (let c = 0; c < CLUSTERS; c++) {
  const cluster = `cluster-${c}`;
  const pairs = new Set<string>();
  for (let o = 0; o < OWNERS; o++) {
    const uid = `00000000-0000-0000-${c.toString().padStart(4, '0')}-${o.toString().padStart(12, '0')}`;
    const namespace = `ns-${o % 100}`;
    const used = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => Math.floor(rnd() * images.length));
    const msg: InventoryMessage = {
      v: 1,
      type: 'owner',
      cluster,
      uid,
      kind: 'ReplicaSet',
      namespace,
      name: `app-${o}-5d8f7c9b6`,
      containers: [
        ...used.map((i, k) => ({ name: `c${k}`, image: images[i] as string })),
        ...(values.sidecar ? [{ name: 'mesh', image: SIDECAR }] : []),
      ],
      epoch: 1,
      at,
    };
    messages.push({ subject: subjects.inventoryOwner(uid, cluster), data: enc.encode(JSON.stringify(msg)) });
    for (const i of used) pairs.add(`${namespace}\n${i}`);
    if (values.sidecar) pairs.add(`${namespace}\n${SIDECAR_INDEX}`);
  }
  for (const p of pairs) {
    const [namespace = '', i] = p.split('\n');
    const image = imageOf(Number(i));
    const f: ImageFindings = {
      v: 1,
      cluster,
      namespace,
      image,
      digest: digestOf(Number(i)),
      status: 'ok',
      scannedAt: at,
      dbUpdatedAt: at,
      findings: imageFindings[Number(i) === SIDECAR_INDEX ? 0 : Number(i)] ?? [],
      omitted: 0,
      publishedAt: at,
    };
    messages.push({
      subject: subjects.findings(findingsKey(namespace, image), cluster),
      data: enc.encode(JSON.stringify(f)),
    });
  }
}
// Each owner's failed config checks: 0-12 of 60 check ids, from a sequence of their own (the rest
// of the fleet stays the one measured before checks were published).
let checkSeed = 7;
const rndCheck = () => {
  checkSeed = (checkSeed * 1103515245 + 12345) & 0x7fffffff;
  return checkSeed / 0x7fffffff;
};
const checkIds = Array.from({ length: 60 }, (_, i) => `KSV${String(i + 1).padStart(3, '0')}`);
for (let c = 0; c < CLUSTERS && !values['no-checks']; c++) {
  const cluster = `cluster-${c}`;
  for (let o = 0; o < OWNERS; o++) {
    const uid = `00000000-0000-0000-${c.toString().padStart(4, '0')}-${o.toString().padStart(12, '0')}`;
    const ids = new Set(
      Array.from({ length: Math.floor(rndCheck() * 13) }, () => Math.floor(rndCheck() ** 2 * 60)),
    );
    const msg: OwnerChecks = {
      v: 1,
      cluster,
      uid,
      kind: 'ReplicaSet',
      namespace: `ns-${o % 100}`,
      name: `app-${o}-5d8f7c9b6`,
      failed: [...ids].map((i) => ({
        id: checkIds[i] as string,
        severity: SEVERITIES[i % SEVERITIES.length] as Severity,
        title: 'a check title of some length',
      })),
      omitted: 0,
      scannedAt: at,
      publishedAt: at,
    };
    messages.push({ subject: subjects.checks(uid, cluster), data: enc.encode(JSON.stringify(msg)) });
  }
}
const bytes = messages.reduce((n, m) => n + m.data.length, 0);

const model = createModel(new DatabaseSync(':memory:'));
const t0 = performance.now();
for (let i = 0; i < messages.length; i += 500) {
  model.transaction(() => {
    for (const m of messages.slice(i, i + 500)) {
      const d = decodeFleetMessage(m.subject, m.data);
      if (d.kind === 'inventory') model.applyInventory(d.message);
      else if (d.kind === 'findings') model.applyFindings(d.message);
      else if (d.kind === 'checks') model.applyChecks(d.message);
      else throw new Error(d.reason);
    }
  });
}
const rebuildMs = performance.now() - t0;

function time(fn: () => unknown, runs = RUNS): { p50: number; p99: number; max: number } {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    xs.push(performance.now() - s);
  }
  xs.sort((a, b) => a - b);
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
  return { p50: q(0.5), p99: q(0.99), max: xs.at(-1) ?? 0 };
}
let rows = 0;
const where = time(() => {
  rows += whereVulnerability(model.db, { id: pick(cves), limit: 50, offset: 0 }).total;
});
const whereCluster = time(() => {
  whereVulnerability(model.db, { id: pick(cves), cluster: 'cluster-1', fixable: true, limit: 50, offset: 0 });
});
const fix = time(() => fixFirst(model.db, { limit: 50, offset: 0 }));
const fixCluster = time(() => fixFirst(model.db, { cluster: 'cluster-1', limit: 50, offset: 0 }));
const digest = time(
  () => whereDigest(model.db, digestOf(Math.floor(rnd() * images.length)), { limit: 50, offset: 0 }),
  EXTRA_RUNS,
);
// The last 30 days of the 300 the fleet's first-seen times span.
const since = Date.UTC(2026, 0, 1 + 270);
const recent = time(() => newSince(model.db, { since, limit: 50, offset: 0 }), EXTRA_RUNS);
const posture = time(() => clusterPosture(model.db), EXTRA_RUNS);
// Live ingest: an owner's containers change, one message per transaction (a quiet stream's batch).
const live = time(() => {
  const o = Math.floor(rnd() * OWNERS);
  const uid = `00000000-0000-0000-0001-${o.toString().padStart(12, '0')}`;
  const msg: InventoryMessage = {
    v: 1,
    type: 'owner',
    cluster: 'cluster-1',
    uid,
    kind: 'ReplicaSet',
    namespace: `ns-${o % 100}`,
    name: `app-${o}-5d8f7c9b6`,
    containers: [
      { name: 'c0', image: pick(images) },
      ...(values.sidecar ? [{ name: 'mesh', image: SIDECAR }] : []),
    ],
    epoch: 1,
    at,
  };
  const d = decodeFleetMessage(subjects.inventoryOwner(uid, 'cluster-1'), enc.encode(JSON.stringify(msg)));
  model.transaction(() => {
    if (d.kind === 'inventory') model.applyInventory(d.message);
  });
});
const pages = model.db.prepare('PRAGMA page_count').get() as { page_count: number };
const pageSize = model.db.prepare('PRAGMA page_size').get() as { page_size: number };
const ms = (x: { p50: number; p99: number; max: number }) =>
  `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, max ${x.max.toFixed(1)} ms`;
console.log(
  JSON.stringify(
    {
      owners: OWNERS * CLUSTERS,
      messages: messages.length,
      messageMiB: +(bytes / 2 ** 20).toFixed(1),
      rows: model.counts(),
      rebuildSeconds: +(rebuildMs / 1000).toFixed(2),
      modelMiB: +((pages.page_count * pageSize.page_size) / 2 ** 20).toFixed(1),
      rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(0),
      meanWorkloadRowsPerCve: Math.round(rows / RUNS),
      whereVulnerability: ms(where),
      whereVulnerabilityClusterFixable: ms(whereCluster),
      fixFirst: ms(fix),
      fixFirstCluster: ms(fixCluster),
      whereDigest: ms(digest),
      newSinceLast30Days: ms(recent),
      clusterPosture: ms(posture),
      liveOwnerUpdate: ms(live),
    },
    null,
    2,
  ),
);
