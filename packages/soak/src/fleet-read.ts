import {
  isReportOwner,
  OWNER_KINDS,
  projectWorkload,
  toOwner,
  WORKLOAD_RESOURCES,
} from '@fleetscan/inventory';
import type { KubeObject, KubeTransport } from '@fleetscan/kube';
import {
  ANNOTATION_SCAN_ERROR,
  CONFIG_AUDIT_REPORT,
  EXPOSED_SECRET_REPORT,
  GROUP,
  LABEL_CONTAINER_NAME,
  LABEL_RESOURCE_SPEC_HASH,
  type OwnerReportKind,
  SCAN_FAILED_REASON,
  scanFailedEventName,
  VERSION,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { OwnerView, ReportView } from './fleet-check.ts';

/**
 * Reads what checkFleet compares, straight from the API server (plain JSON, not a watch: a check
 * must see the server's state, not a cache): the report owners of some namespaces, by the same
 * owner rules as the services, their reports' metadata, and which of their images fail to scan
 * (the writer's ScanFailed Events).
 */

const REPORT_KINDS = [VULNERABILITY_REPORT, CONFIG_AUDIT_REPORT, EXPOSED_SECRET_REPORT] as const;

const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export interface FleetState {
  owners: OwnerView[];
  reports: ReportView[];
}

export async function readFleet(
  transport: KubeTransport,
  namespaces: readonly string[],
  signal: AbortSignal = AbortSignal.timeout(60_000),
): Promise<FleetState> {
  const owners: OwnerView[] = [];
  const reports: ReportView[] = [];
  for (const ns of namespaces) {
    // The writer's ScanFailed Events, by name (one per owner and image: scanFailedEventName).
    const failed = new Set(
      (
        await listAll(
          transport,
          `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
          signal,
          undefined,
          `reason=${SCAN_FAILED_REASON}`,
        )
      ).map((e) => e.metadata?.name ?? ''),
    );
    for (const kind of OWNER_KINDS) {
      for (const obj of await listAll(transport, nsPath(WORKLOAD_RESOURCES[kind], ns), signal)) {
        const w = projectWorkload(kind, obj);
        if (!w || !isReportOwner(w)) continue;
        const o = toOwner(w);
        const failingImages = new Set(
          o.containers.map((c) => c.image).filter((image) => failed.has(scanFailedEventName(o, image))),
        );
        owners.push({
          kind: o.kind,
          namespace: o.namespace,
          name: o.name,
          uid: o.uid,
          specHash: o.specHash,
          containers: o.containers.map((c) => ({ name: c.name, image: c.image })),
          ...(failingImages.size > 0 && { failingImages }),
        });
      }
    }
    for (const r of REPORT_KINDS) {
      const path = nsPath({ group: GROUP, version: VERSION, plural: r.plural }, ns);
      for (const obj of await listAll(transport, path, signal, ACCEPT_METADATA_LIST)) {
        reports.push(reportView(r.kind, obj));
      }
    }
  }
  return { owners, reports };
}

export function reportView(kind: OwnerReportKind, obj: KubeObject): ReportView {
  const m = obj.metadata ?? {};
  const owner = m.ownerReferences?.find((o) => o.controller === true);
  const container = m.labels?.[LABEL_CONTAINER_NAME];
  const specHash = m.labels?.[LABEL_RESOURCE_SPEC_HASH];
  const scanError = m.annotations?.[ANNOTATION_SCAN_ERROR];
  return {
    kind,
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    ...(owner && { owner: { kind: owner.kind, name: owner.name, uid: owner.uid } }),
    ...(container !== undefined && { container }),
    ...(specHash !== undefined && { specHash }),
    ...(scanError !== undefined && { scanError }),
  };
}

function nsPath(r: { group: string; version: string; plural: string }, ns: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return `${base}/namespaces/${encodeURIComponent(ns)}/${r.plural}`;
}

async function listAll(
  transport: KubeTransport,
  path: string,
  signal: AbortSignal,
  accept?: string,
  fieldSelector?: string,
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  // A namespace of the soak or a test holds hundreds of objects at most; pages bound each answer.
  for (let page = 0; page < 1000; page++) {
    const query = { limit: 500, continue: cont, ...(fieldSelector && { fieldSelector }) };
    const list = (await transport.getJson(path, query, signal, accept)) as {
      items?: KubeObject[];
      metadata?: { continue?: string };
    };
    out.push(...(list.items ?? []));
    cont = list.metadata?.continue || undefined;
    if (!cont) return out;
  }
  throw new Error(`${path}: more than 1000 pages`);
}
