import { type ContainerRef, type Owner, ownerKey, type ReportRef } from '@fleetscan/inventory';
import {
  CONFIG_AUDIT_REPORT,
  configAuditReportName,
  containerReportName,
  MANAGED_BY_FLEETSCAN,
  type OwnerReportKind,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { OwnerIndex, Scheduler } from '../scheduler.ts';

/** A report owner for tests: a ReplicaSet running `images`, one container each. */
export function testOwner(o: {
  namespace: string;
  name: string;
  uid: string;
  images: readonly string[];
  specHash?: string;
}): Owner {
  const containers: ContainerRef[] = o.images.map((image, i) => ({
    name: `c${i}`,
    image,
    kind: 'container',
  }));
  return {
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    namespace: o.namespace,
    name: o.name,
    uid: o.uid,
    labels: {},
    specHash: o.specHash ?? `spec-${o.images.join(',')}`,
    containers,
    workload: {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      resourceVersion: '1',
      labels: {},
      containers,
    },
  };
}

/**
 * The inventory's view of a cluster, in memory: owners and report projections, with the
 * inventory's events (store updated first, then the event) delivered to a scheduler. What the
 * real inventory learns from watches, a test sets by hand.
 */
export function createFakeCluster() {
  const owners = new Map<string, Owner>();
  const reports = new Map<string, ReportRef>();
  let scheduler: Pick<Scheduler, 'ownerChanged' | 'reportChanged'> | undefined;
  const reportKey = (kind: OwnerReportKind, namespace: string, name: string) =>
    `${kind}/${namespace}/${name}`;

  const index: OwnerIndex = {
    owners: () => [...owners.values()],
    owner: (key) => owners.get(key),
    ownerByUid: (uid) => [...owners.values()].find((o) => o.uid === uid),
    ownersUsingImage: (image) =>
      [...owners.values()].filter((o) => o.containers.some((c) => c.image === image)),
    report: (kind, namespace, name) => reports.get(reportKey(kind, namespace, name)),
  };

  const cluster = {
    index,
    owners,
    reports,
    connect(s: Pick<Scheduler, 'ownerChanged' | 'reportChanged'>) {
      scheduler = s;
    },
    putOwner(o: Owner) {
      const key = ownerKey(o);
      const previous = owners.get(key);
      owners.set(key, o);
      scheduler?.ownerChanged(key, o, previous);
    },
    /** The owner goes, and the garbage collector takes its reports. */
    deleteOwner(key: string) {
      const previous = owners.get(key);
      if (!previous) return;
      owners.delete(key);
      scheduler?.ownerChanged(key, undefined, previous);
      for (const [k, r] of reports) {
        if (r.ownerUid !== previous.uid) continue;
        reports.delete(k);
        scheduler?.reportChanged('DELETED', r);
      }
    },
    putReport(r: ReportRef) {
      const key = reportKey(r.kind, r.namespace, r.name);
      const type = reports.has(key) ? 'MODIFIED' : 'ADDED';
      reports.set(key, r);
      scheduler?.reportChanged(type, r);
    },
    deleteReport(kind: OwnerReportKind, namespace: string, name: string) {
      const key = reportKey(kind, namespace, name);
      const r = reports.get(key);
      if (!r) return;
      reports.delete(key);
      scheduler?.reportChanged('DELETED', r);
    },
    /** A current VulnerabilityReport for one container of `o`, as the writer would write it. */
    vulnReport(
      o: Owner,
      container: string,
      extra: Partial<ReportRef> & { scanConfigHash: string },
    ): ReportRef {
      return {
        kind: VULNERABILITY_REPORT.kind,
        namespace: o.namespace,
        name: containerReportName(o.kind, o.name, container),
        uid: `vr-${o.uid}-${container}`,
        ownerUid: o.uid,
        specHash: o.specHash,
        container,
        managedBy: MANAGED_BY_FLEETSCAN,
        ...extra,
      };
    },
    configReport(o: Owner, pluginConfigHash: string, extra: Partial<ReportRef> = {}): ReportRef {
      return {
        kind: CONFIG_AUDIT_REPORT.kind,
        namespace: o.namespace,
        name: configAuditReportName(o.kind, o.name),
        uid: `car-${o.uid}`,
        ownerUid: o.uid,
        specHash: o.specHash,
        pluginConfigHash,
        managedBy: MANAGED_BY_FLEETSCAN,
        ...extra,
      };
    },
  };
  return cluster;
}
export type FakeCluster = ReturnType<typeof createFakeCluster>;
