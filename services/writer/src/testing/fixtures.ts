import type { ImageScanData, ImageScanResult } from '@fleetscan/bus';
import type { Inventory, Owner, ReportRef } from '@fleetscan/inventory';
import { MANAGED_BY_FLEETSCAN, type OwnerReportKind } from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { ReportApi, ReportObject } from '../apply.ts';

export const IMAGE = 'r/app:1';

export const owner = (name: string, namespace = 'team-a', images: string[] = [IMAGE]): Owner =>
  ({
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    labels: {},
    specHash: 'spec',
    containers: images.map((image, i) => ({ name: i === 0 ? 'app' : `app${i}`, image, kind: 'container' })),
  }) as unknown as Owner;

export const data: ImageScanData = {
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  registry: { server: 'r' },
  artifact: { repository: 'app', tag: '1', digest: 'sha256:1' },
  os: { family: 'debian' },
  vulnerabilities: [],
  scannedAt: '2026-11-26T10:00:00Z',
  dbUpdatedAt: '2026-11-01T00:00:00Z',
};

export const result: ImageScanResult = {
  v: 1,
  cluster: 'c1',
  image: IMAGE,
  namespace: 'team-a',
  scanConfigHash: 'h',
  status: 'ok',
  blob: 'image/sha256:1',
  cached: false,
  scannedAt: data.scannedAt,
  finishedAt: '2026-11-26T10:00:01Z',
};

/** What logs would say: message and fields, for the few tests that check a line was written. */
export function recordingLogger(): Logger & { lines: { level: string; msg: string; fields: object }[] } {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at =
    (level: string) =>
    (fields: object | string, msg?: string): void => {
      if (typeof fields === 'string') lines.push({ level, msg: fields, fields: {} });
      else lines.push({ level, msg: msg ?? '', fields });
    };
  const logger = {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    child: () => logger,
  };
  return logger as unknown as Logger & { lines: typeof lines };
}

/** The writer's view of the cluster (owners and reports by name), changed by the test. */
export function fakeCluster() {
  const owners: Owner[] = [];
  const reports = new Map<string, ReportRef>();
  const key = (kind: OwnerReportKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
  const inventory: Pick<Inventory, 'ownersUsingImage' | 'ownerByUid' | 'report'> = {
    ownersUsingImage: (img) => owners.filter((o) => o.containers.some((c) => c.image === img)),
    ownerByUid: (uid) => owners.find((o) => o.uid === uid),
    report: (kind, namespace, name) => reports.get(key(kind, namespace, name)),
  };
  return {
    owners,
    inventory,
    /** The watch shows this report (or, with undefined, no longer shows it). */
    seeReport(
      r: Omit<ReportRef, 'uid'> | undefined,
      at?: { kind: OwnerReportKind; namespace: string; name: string },
    ) {
      // fleetscan's own report unless it says otherwise.
      if (r)
        reports.set(key(r.kind, r.namespace, r.name), {
          uid: `u-${r.name}`,
          managedBy: MANAGED_BY_FLEETSCAN,
          ...r,
        });
      else if (at) reports.delete(key(at.kind, at.namespace, at.name));
    },
  };
}

/**
 * A ReportApi recording applies (and replaces) as `<namespace>/<name>`. `fail` makes the next applies throw what it
 * returns (undefined: succeed); `hold` makes applies wait until released.
 */
export function recordingApi() {
  const applied: string[] = [];
  const objects: ReportObject[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const replaced: string[] = [];
  const api: Pick<ReportApi, 'apply' | 'replace'> & {
    applied: string[];
    /** Reports of another tool replaced before their apply. */
    replaced: string[];
    objects: ReportObject[];
    maxInFlight(): number;
    fail?: ((obj: ReportObject) => Error | undefined) | undefined;
    hold(): void;
    release(): void;
  } = {
    applied,
    replaced,
    objects,
    maxInFlight: () => maxInFlight,
    async replace(_plural, obj) {
      replaced.push(`${obj.metadata.namespace}/${obj.metadata.name}`);
    },
    async apply(_plural, obj) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (gate) await gate;
        const err = api.fail?.(obj);
        if (err) throw err;
        applied.push(`${obj.metadata.namespace}/${obj.metadata.name}`);
        objects.push(obj);
      } finally {
        inFlight--;
      }
    },
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
  return api;
}
