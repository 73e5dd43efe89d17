import type { KubeObject } from '@fleetscan/kube';
import {
  createReflector,
  equalIgnoringResourceVersion,
  type KubeConnection,
  type KubeLogger,
  type Reflector,
  type ResourceRef,
} from '@fleetscan/kube';
import {
  GROUP,
  OWNER_REPORT_KINDS,
  type OwnerReportKind,
  REPORT_RESOURCES,
  SBOM_REPORT,
  VERSION,
} from '@fleetscan/reports';
import { type Owner, ownerKey, ownerProjector } from './owner.ts';
import { resourceProjector } from './project-resource.ts';
import { type ReportDetailOptions, reportDetailProjector, wantsDetail } from './report-detail.ts';
import { type ReportRef, reportProjector } from './report-ref.ts';
import { RESOURCE_KIND_INFO, type ResourceKind } from './resource-kinds.ts';
import { WORKLOAD_KINDS, WORKLOAD_RESOURCES, type WorkloadKind } from './workload.ts';

/**
 * The report kinds watched unless told otherwise: all that fleetscan writes for owners but
 * SbomReports, which only a writer that writes them watches (SBOM_GENERATION_ENABLED): the watcher
 * does not plan on them, and their CRD need not be installed when they are off.
 */
export const DEFAULT_REPORT_KINDS: readonly OwnerReportKind[] = OWNER_REPORT_KINDS.filter(
  (k) => k !== SBOM_REPORT.kind,
);

/** The kinds that can own reports (Deployments only matter through their ReplicaSets). */
export const OWNER_KINDS: readonly WorkloadKind[] = WORKLOAD_KINDS.filter((k) => k !== 'Deployment');

export interface InventoryEvents {
  /** An owner appeared or its projection changed (`owner`), or it is gone (`undefined`). */
  onOwner?(key: string, owner: Owner | undefined, previous: Owner | undefined): void;
  onReport?(type: 'ADDED' | 'MODIFIED' | 'DELETED', report: ReportRef): void;
}

export interface Inventory {
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every watch has listed once. */
  readonly synced: Promise<void>;
  owners(): Owner[];
  owner(key: string): Owner | undefined;
  ownerByUid(uid: string): Owner | undefined;
  /** Owners with a container running `image` (as written in the pod spec). */
  ownersUsingImage(image: string): Owner[];
  /** `namespace` is '' for the Cluster report kinds. */
  report(kind: OwnerReportKind, namespace: string, name: string): ReportRef | undefined;
  reports(): ReportRef[];
  /** The reports of one kind (the writer's metrics read them at every scrape). */
  reportsOf(kind: OwnerReportKind): ReportRef[];
  /** Watch health for /readyz, one line per unhealthy watch. */
  health(): { ok: boolean; reasons: string[] };
}

/** An owner changes only with its projection: status-only writes change neither. */
function sameOwner(a: Owner, b: Owner): boolean {
  if (a.workload || b.workload) return equalIgnoringResourceVersion(a.workload, b.workload);
  // An audited object's hash covers its labels, annotations and configuration.
  return a.specHash === b.specHash;
}

/**
 * Watches a cluster's report owners — workloads, and the other objects audited — and fleetscan's
 * reports, keeping small projections and indexes by owner uid and by image. Owner rules are
 * trivy-operator's (owner-rules.ts).
 */
export function createInventory(opts: {
  /** Shared by every watch: one keep-alive agent for the lot. */
  kc: KubeConnection;
  logger: KubeLogger;
  events?: InventoryEvents;
  kinds?: readonly WorkloadKind[];
  /** Other kinds whose objects own audit reports (resource-kinds.ts); none by default. */
  resourceKinds?: readonly ResourceKind[];
  /**
   * List and watch reports as metadata only (PartialObjectMetadata): a ReportRef then has no
   * summary, and its time and image digest come from fleetscan's annotations. Each report's
   * findings are most of its bytes; at 22 000 reports a restarted watcher parsed them all.
   */
  reportsMetadataOnly?: boolean;
  /**
   * What to keep of each report beyond its summary (findings, OS, report labels), for the writer's
   * info metrics; nothing by default. Needs full objects (not `reportsMetadataOnly`) for all but labels.
   */
  reportDetail?: ReportDetailOptions;
  /** The report kinds to watch (DEFAULT_REPORT_KINDS by default); `report()` knows no others. */
  reportKinds?: readonly OwnerReportKind[];
}): Inventory {
  const kinds = opts.kinds ?? OWNER_KINDS;
  const detail = wantsDetail(opts.reportDetail) ? reportDetailProjector(opts.reportDetail ?? {}) : undefined;
  const resourceKinds = opts.resourceKinds ?? [];
  const owners = new Map<string, Owner>();
  const byUid = new Map<string, string>();
  const byImage = new Map<string, Set<string>>();

  const index = (o: Owner, add: boolean) => {
    for (const c of o.containers) {
      if (!c.image) continue;
      let set = byImage.get(c.image);
      if (add) {
        if (!set) {
          set = new Set();
          byImage.set(c.image, set);
        }
        set.add(ownerKey(o));
      } else if (set) {
        set.delete(ownerKey(o));
        if (set.size === 0) byImage.delete(c.image);
      }
    }
    if (add) byUid.set(o.uid, ownerKey(o));
    else if (byUid.get(o.uid) === ownerKey(o)) byUid.delete(o.uid);
  };

  const onOwnerEvent = (key: string, next: Owner | undefined, prev: Owner | undefined) => {
    if (prev) index(prev, false);
    if (next) {
      owners.set(key, next);
      index(next, true);
    } else owners.delete(key);
    if (prev || next) opts.events?.onOwner?.(key, next, prev);
  };

  // The stores keep owners only: the Pods of controllers, old ReplicaSets and CronJobs' Jobs
  // outnumber owners several times and nothing here reads them.
  const ownerReflector = (resource: ResourceRef, project: (obj: KubeObject) => Owner | undefined) =>
    createReflector<Owner>({
      kc: opts.kc,
      resource,
      project,
      equal: sameOwner,
      logger: opts.logger,
      onEvent: (e) => {
        const key = ownerKey(e.obj);
        onOwnerEvent(key, e.type === 'DELETED' ? undefined : e.obj, e.type === 'ADDED' ? undefined : e.old);
      },
    });
  const workloadReflectors: Reflector<Owner>[] = [
    ...kinds.map((kind) => ownerReflector(WORKLOAD_RESOURCES[kind], ownerProjector(kind))),
    ...resourceKinds.map((kind) =>
      ownerReflector(RESOURCE_KIND_INFO[kind].resource, resourceProjector(kind)),
    ),
  ];
  const reportKinds = opts.reportKinds ?? DEFAULT_REPORT_KINDS;
  const reportReflectors = new Map<OwnerReportKind, Reflector<ReportRef>>(
    reportKinds.map((kind) => [
      kind,
      createReflector<ReportRef>({
        kc: opts.kc,
        resource: {
          group: GROUP,
          version: VERSION,
          plural: REPORT_RESOURCES[kind].plural,
        },
        project: reportProjector(kind, detail),
        // An SBOM is most of its report's bytes and nothing here reads it (nor its summary): the
        // annotations say whose it is, what it holds and when it was made.
        metadataOnly: (opts.reportsMetadataOnly ?? false) || kind === SBOM_REPORT.kind,
        logger: opts.logger,
        onEvent: (e) => opts.events?.onReport?.(e.type, e.obj),
      }),
    ]),
  );
  const all = [...workloadReflectors, ...reportReflectors.values()];
  const names = [...kinds, ...resourceKinds, ...reportKinds];
  const synced = Promise.all(all.map((r) => r.synced)).then(() => undefined);
  // Stopping before the first list rejects `synced`; that is not a crash for whoever never awaited it.
  synced.catch(() => {});

  return {
    start: () => {
      for (const r of all) r.start();
    },
    stop: async () => {
      await Promise.all(all.map((r) => r.stop()));
    },
    synced,
    owners: () => [...owners.values()],
    owner: (key) => owners.get(key),
    ownerByUid: (uid) => {
      const k = byUid.get(uid);
      return k === undefined ? undefined : owners.get(k);
    },
    ownersUsingImage: (image) =>
      [...(byImage.get(image) ?? [])].map((k) => owners.get(k)).filter((o): o is Owner => o !== undefined),
    // The reflector's keys: `namespace/name`, or the name alone for cluster-scoped objects.
    report: (kind, namespace, name) =>
      reportReflectors.get(kind)?.get(namespace ? `${namespace}/${name}` : name),
    reports: () => [...reportReflectors.values()].flatMap((r) => r.list()),
    reportsOf: (kind) => reportReflectors.get(kind)?.list() ?? [],
    health: () => {
      const reasons: string[] = [];
      all.forEach((r, i) => {
        const h = r.health();
        if (!h.ok) reasons.push(`watch ${names[i]}: ${h.reason}`);
      });
      return { ok: reasons.length === 0, reasons };
    },
  };
}
