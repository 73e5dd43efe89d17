import { WORKLOAD_RESOURCES } from '@fleetscan/inventory';
import { createReflector, type KubeConnection, type KubeLogger, type Reflector } from '@fleetscan/kube';
import {
  ANNOTATION_DB_UPDATED_AT,
  CONFIG_AUDIT_REPORT,
  GROUP,
  VERSION,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { KubernetesObject } from '@kubernetes/client-node';
import { BENCH_LABEL, expectedReports, type FleetWorkload } from './fleet.ts';

const REPORTS = [VULNERABILITY_REPORT, CONFIG_AUDIT_REPORT].map((r) => ({
  group: GROUP,
  version: VERSION,
  plural: r.plural,
}));

interface OwnerView {
  uid: string;
  /** The benchmark workload this owner stands for: itself, or a ReplicaSet's Deployment. */
  workload: string;
}

interface Entry {
  expected: number;
  /** A probe (a workload created under load): not counted with the fleet. */
  probe?: boolean;
  createdAt?: number;
  ownerUid?: string;
  ownerSeenAt?: number;
  reports: Set<string>;
  /** A probe's: when each report was seen (its key's first segment is the kind's plural). */
  reportsAt?: Map<string, number>;
  doneAt?: number;
}

export interface TrackerCounts {
  created: number;
  ownersSeen: number;
  reports: number;
  expectedReports: number;
  done: number;
  workloads: number;
}

/**
 * The benchmark's own view of progress, from watches (not polling): when each workload's report
 * owner appeared and when its last report did, in this process's clock (milliseconds, unlike
 * creationTimestamp's seconds).
 */
export interface Tracker {
  start(): void;
  stop(): Promise<void>;
  readonly synced: Promise<void>;
  /** The benchmark sent the create request for this workload at `at`. */
  created(w: FleetWorkload, at: number): void;
  counts(): TrackerCounts;
  /** Resolves when every workload has all its reports; rejects after timeoutMs. */
  allDone(timeoutMs: number): Promise<void>;
  /** Resolves when every workload's report owner exists (the control plane's part). */
  allOwnersSeen(timeoutMs: number): Promise<void>;
  /** Per workload: created → owner seen, created → all reports. */
  latencies(): { ownerMs: number[]; reportsMs: number[] };
  /** When each finished workload got its last report. */
  doneTimes(): number[];
  firstCreatedAt(): number | undefined;
  lastOwnerSeenAt(): number | undefined;
  lastReportAt(): number | undefined;
  /** Reports seen in total (any owner), for the second pass. */
  reportEvents(): { added: number; modified: number; deleted: number };
  /** Follows a probe, a workload created apart from the fleet; its reports do not count with it. */
  addProbe(w: FleetWorkload, createdAt: number): void;
  /** Resolves with when the probe had all its reports; undefined if it did not within timeoutMs. */
  probeDone(w: FleetWorkload, timeoutMs: number): Promise<number | undefined>;
  /** When the probe's report owner (a Deployment's ReplicaSet) was first seen. */
  probeOwnerSeenAt(w: FleetWorkload): number | undefined;
  /** When each of the probe's reports was seen, by report kind (plural), in arrival order. */
  probeReportTimes(w: FleetWorkload): { kind: string; at: number }[];
  /** Reports of every probe so far. */
  probeReports(): number;
  /** VulnerabilityReports by the trivy DB version they were matched against (any owner). */
  vulnReportsByDb(): Map<string, number>;
}

export const workloadKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export function createTracker(opts: {
  kube: KubeConnection;
  fleet: readonly FleetWorkload[];
  run: string;
  logger: KubeLogger;
  now?: () => number;
  /** Only ConfigAuditReports are expected (`--config-only`). */
  configOnly?: boolean;
}): Tracker {
  const now = opts.now ?? (() => performance.timeOrigin + performance.now());
  const entries = new Map<string, Entry>();
  for (const w of opts.fleet) {
    entries.set(workloadKey(w.kind, w.namespace, w.name), {
      expected: expectedReports(w, opts.configOnly),
      reports: new Set(),
    });
  }
  const expectedTotal = [...entries.values()].reduce((a, e) => a + e.expected, 0);
  const byOwnerUid = new Map<string, string>();
  /** Reports seen before their owner (the writer can be faster than our watch). */
  const orphans = new Map<string, Set<string>>();
  let created = 0;
  let ownersSeen = 0;
  let reportCount = 0;
  let done = 0;
  let firstCreated: number | undefined;
  let lastOwner: number | undefined;
  let lastReport: number | undefined;
  const events = { added: 0, modified: 0, deleted: 0 };
  let onProgress: (() => void) | undefined;
  const probes = new Map<string, Entry>();
  const probeWaiters = new Map<string, (at: number) => void>();
  /** DB version of each VulnerabilityReport, by report key. */
  const vulnDb = new Map<string, string>();

  const entryOf = (key: string) => entries.get(key) ?? probes.get(key);

  const attach = (key: string, reportKey: string, at: number) => {
    const e = entryOf(key);
    if (!e || e.reports.has(reportKey)) return;
    e.reports.add(reportKey);
    if (e.probe) {
      e.reportsAt?.set(reportKey, at);
      if (e.doneAt === undefined && e.reports.size >= e.expected) {
        e.doneAt = at;
        probeWaiters.get(key)?.(at);
      }
      return;
    }
    reportCount++;
    lastReport = Math.max(lastReport ?? 0, at);
    if (e.doneAt === undefined && e.reports.size >= e.expected) {
      e.doneAt = at;
      done++;
      onProgress?.();
    }
  };

  const ownerSeen = (o: OwnerView) => {
    const e = entryOf(o.workload);
    if (!e || e.ownerUid === o.uid) return;
    // A new owner (a re-created ReplicaSet) starts over.
    if (e.ownerUid) byOwnerUid.delete(e.ownerUid);
    e.ownerUid = o.uid;
    if (e.ownerSeenAt === undefined) {
      e.ownerSeenAt = now();
      if (!e.probe) {
        ownersSeen++;
        lastOwner = e.ownerSeenAt;
        onProgress?.();
      }
    }
    byOwnerUid.set(o.uid, o.workload);
    const early = orphans.get(o.uid);
    if (early) {
      orphans.delete(o.uid);
      for (const r of early) attach(o.workload, r, now());
    }
  };

  const waitUntilCount = (count: () => number, what: string, timeoutMs: number) => {
    if (count() >= entries.size) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        onProgress = undefined;
        reject(new Error(`not every workload was ${what} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      onProgress = () => {
        if (count() < entries.size) return;
        clearTimeout(timer);
        onProgress = undefined;
        resolve();
      };
    });
  };

  const selector = `${BENCH_LABEL}=${opts.run}`;
  const ownerReflectors: Reflector<OwnerView>[] = (
    ['ReplicaSet', 'StatefulSet', 'DaemonSet', 'CronJob'] as const
  ).map((kind) =>
    createReflector<OwnerView>({
      kc: opts.kube,
      resource: WORKLOAD_RESOURCES[kind],
      labelSelector: selector,
      logger: opts.logger,
      project: (obj: KubernetesObject) => {
        const m = obj.metadata;
        if (!m?.uid || !m.name) return undefined;
        if (kind !== 'ReplicaSet')
          return { uid: m.uid, workload: workloadKey(kind, m.namespace ?? '', m.name) };
        const ref = m.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
        const replicas = (obj as { spec?: { replicas?: number } }).spec?.replicas ?? 0;
        if (!ref || replicas === 0) return undefined;
        return { uid: m.uid, workload: workloadKey('Deployment', m.namespace ?? '', ref.name) };
      },
      onEvent: (e) => {
        if (e.type !== 'DELETED') ownerSeen(e.obj);
      },
    }),
  );
  const reportReflectors = REPORTS.map((resource) =>
    createReflector<{ key: string; ownerUid: string; version: string; db?: string }>({
      kc: opts.kube,
      resource,
      // Names and owners are all it needs: the findings would cost the API server and this process.
      metadataOnly: true,
      logger: opts.logger,
      project: (obj: KubernetesObject) => {
        const m = obj.metadata;
        const owner = m?.ownerReferences?.find((r) => r.controller);
        if (!m?.name || !owner) return undefined;
        const db = m.annotations?.[ANNOTATION_DB_UPDATED_AT];
        // `version` (not `resourceVersion`, which the default equality ignores) makes every write a MODIFIED.
        return {
          key: `${resource.plural}/${m.namespace}/${m.name}`,
          ownerUid: owner.uid,
          version: m.resourceVersion ?? '',
          ...(resource.plural === VULNERABILITY_REPORT.plural && db !== undefined && { db }),
        };
      },
      onEvent: (e) => {
        if (e.type === 'ADDED') events.added++;
        else if (e.type === 'MODIFIED') events.modified++;
        else events.deleted++;
        if (e.type === 'DELETED') vulnDb.delete(e.obj.key);
        else if (e.obj.db !== undefined) vulnDb.set(e.obj.key, e.obj.db);
        if (e.type !== 'ADDED') return;
        const at = now();
        const w = byOwnerUid.get(e.obj.ownerUid);
        if (w) attach(w, e.obj.key, at);
        else {
          let set = orphans.get(e.obj.ownerUid);
          if (!set) {
            set = new Set();
            orphans.set(e.obj.ownerUid, set);
          }
          set.add(e.obj.key);
        }
      },
    }),
  );
  const all = [...ownerReflectors, ...reportReflectors];

  return {
    start: () => {
      for (const r of all) r.start();
    },
    stop: async () => {
      await Promise.all(all.map((r) => r.stop()));
    },
    synced: Promise.all(all.map((r) => r.synced)).then(() => undefined),
    created(w, at) {
      const e = entries.get(workloadKey(w.kind, w.namespace, w.name));
      if (!e || e.createdAt !== undefined) return;
      e.createdAt = at;
      created++;
      firstCreated = Math.min(firstCreated ?? at, at);
    },
    counts: () => ({
      created,
      ownersSeen,
      reports: reportCount,
      expectedReports: expectedTotal,
      done,
      workloads: entries.size,
    }),
    allDone(timeoutMs) {
      return waitUntilCount(() => done, 'reported', timeoutMs);
    },
    allOwnersSeen(timeoutMs) {
      return waitUntilCount(() => ownersSeen, 'seen to exist', timeoutMs);
    },
    latencies() {
      const ownerMs: number[] = [];
      const reportsMs: number[] = [];
      for (const e of entries.values()) {
        if (e.createdAt === undefined) continue;
        if (e.ownerSeenAt !== undefined) ownerMs.push(e.ownerSeenAt - e.createdAt);
        if (e.doneAt !== undefined) reportsMs.push(e.doneAt - e.createdAt);
      }
      return { ownerMs, reportsMs };
    },
    doneTimes: () => [...entries.values()].flatMap((e) => (e.doneAt === undefined ? [] : [e.doneAt])),
    firstCreatedAt: () => firstCreated,
    lastOwnerSeenAt: () => lastOwner,
    lastReportAt: () => lastReport,
    reportEvents: () => ({ ...events }),
    addProbe(w, createdAt) {
      const key = workloadKey(w.kind, w.namespace, w.name);
      if (entries.has(key) || probes.has(key)) throw new Error(`probe ${key} is already followed`);
      probes.set(key, {
        expected: expectedReports(w),
        probe: true,
        createdAt,
        reports: new Set(),
        reportsAt: new Map(),
      });
    },
    probeDone(w, timeoutMs) {
      const key = workloadKey(w.kind, w.namespace, w.name);
      const e = probes.get(key);
      if (!e) return Promise.reject(new Error(`probe ${key} is not followed`));
      if (e.doneAt !== undefined) return Promise.resolve(e.doneAt);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          probeWaiters.delete(key);
          resolve(undefined);
        }, timeoutMs);
        probeWaiters.set(key, (at) => {
          clearTimeout(timer);
          probeWaiters.delete(key);
          resolve(at);
        });
      });
    },
    probeReports: () => [...probes.values()].reduce((a, e) => a + e.reports.size, 0),
    probeOwnerSeenAt: (w) => probes.get(workloadKey(w.kind, w.namespace, w.name))?.ownerSeenAt,
    probeReportTimes(w) {
      const at = probes.get(workloadKey(w.kind, w.namespace, w.name))?.reportsAt ?? new Map<string, number>();
      return [...at]
        .map(([key, t]) => ({ kind: key.split('/')[0] ?? key, at: t }))
        .sort((a, b) => a.at - b.at);
    },
    vulnReportsByDb() {
      const out = new Map<string, number>();
      for (const db of vulnDb.values()) out.set(db, (out.get(db) ?? 0) + 1);
      return out;
    },
  };
}
