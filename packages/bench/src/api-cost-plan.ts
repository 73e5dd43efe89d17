/**
 * The API server's cost per report write, two ways of creating a report (pure parts): server-side
 * apply (PATCH, application/apply-patch+yaml: what the writer does), or create (POST, JSON) with
 * the same field manager — and then the updates that follow each (server-side apply). Bodies are
 * copies of real reports of the run, so sizes and shapes are the writer's.
 */

/**
 * `…-ignore`: server-side apply with fieldValidation=Ignore (what the writer sends), against the
 * server's default (Warn), which parses each body a second time, strictly.
 * `post-create-migrated`: a POST, then a JSON patch turning the create's field ownership (an Update
 * entry) into the writer's Apply entry, as client-go's csaupgrade does: the one way a POST can keep
 * server-side apply's semantics for the fields a later apply stops setting.
 */
export type WriteWay =
  | 'apply-create'
  | 'apply-create-ignore'
  | 'post-create'
  | 'post-create-migrated'
  | 'apply-update-of-applied'
  | 'apply-update-ignore'
  | 'apply-update-of-posted';

export const WRITE_WAYS: readonly WriteWay[] = [
  'apply-create',
  'apply-create-ignore',
  'post-create',
  'post-create-migrated',
  'apply-update-of-applied',
  'apply-update-ignore',
  'apply-update-of-posted',
];

/** Ways that apply with fieldValidation=Ignore. */
export const ignoresFieldValidation = (way: WriteWay): boolean => way.endsWith('-ignore');

export interface ReportBody {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  report?: unknown;
}

/**
 * A real report as a template: what the writer sends (apiVersion, kind, labels, annotations, the
 * report), without server fields (uid, resourceVersion, managedFields, timestamps) and without
 * owner references (the copies live in a namespace of their own, owned by nothing).
 */
export function reportTemplate(obj: {
  apiVersion?: string;
  kind?: string;
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  report?: unknown;
}): Omit<ReportBody, 'metadata'> & { metadata: Omit<ReportBody['metadata'], 'name' | 'namespace'> } {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    metadata: {
      ...(obj.metadata?.labels && { labels: obj.metadata.labels }),
      ...(obj.metadata?.annotations && { annotations: obj.metadata.annotations }),
    },
    report: obj.report,
  };
}

/**
 * The `i`-th report a way writes: named for the way of creating it (updates rewrite those), the
 * template's content, and for an update a new content hash and time, as a refresh would send.
 */
export function reportBody(
  template: ReturnType<typeof reportTemplate>,
  o: { way: WriteWay; i: number; namespace: string; at: string },
): ReportBody {
  const created =
    o.way === 'post-create-migrated'
      ? 'migrated'
      : ignoresFieldValidation(o.way)
        ? 'unvalidated'
        : o.way === 'apply-create' || o.way === 'apply-update-of-applied'
          ? 'applied'
          : 'posted';
  const update = o.way.startsWith('apply-update');
  return {
    ...template,
    metadata: {
      ...template.metadata,
      name: `${created}-${String(o.i).padStart(5, '0')}`,
      namespace: o.namespace,
      ...(update && {
        annotations: {
          ...template.metadata.annotations,
          'fleetscan.io/content-hash': `refresh-${o.i}`,
          'fleetscan.io/updated-at': o.at,
        },
      }),
    },
  };
}

export interface WriteBatch {
  way: WriteWay;
  writes: number;
  failures: number;
  wallMs: number;
  /** CPU seconds over the batch. */
  apiserverSec: number;
  etcdSec: number;
}

export interface WayCost {
  way: WriteWay;
  writes: number;
  failures: number;
  /** Per write, ms of CPU, the idle rate over the batches' wall time taken out. */
  apiserverMs: number;
  etcdMs: number;
  /** Writes per second, at the concurrency used. */
  writesPerSec: number;
}

/**
 * Cost per write of each way, over all its batches (rounds alternate the ways so drift in the box's
 * load spreads over all of them). `idle` is what each process burns per second with nobody writing.
 */
export function wayCosts(
  batches: readonly WriteBatch[],
  idle: { apiserverPerSec: number; etcdPerSec: number },
): WayCost[] {
  return WRITE_WAYS.flatMap((way) => {
    const mine = batches.filter((b) => b.way === way);
    if (mine.length === 0) return [];
    const sum = (f: (b: WriteBatch) => number) => mine.reduce((a, b) => a + f(b), 0);
    const writes = sum((b) => b.writes);
    const wallSec = sum((b) => b.wallMs) / 1000;
    const per = (cpu: number, idlePerSec: number) =>
      writes > 0 ? (Math.max(0, cpu - idlePerSec * wallSec) * 1000) / writes : 0;
    return [
      {
        way,
        writes,
        failures: sum((b) => b.failures),
        apiserverMs: per(
          sum((b) => b.apiserverSec),
          idle.apiserverPerSec,
        ),
        etcdMs: per(
          sum((b) => b.etcdSec),
          idle.etcdPerSec,
        ),
        writesPerSec: wallSec > 0 ? writes / wallSec : 0,
      },
    ];
  });
}

/** What a managedFields list says about who owns a report: manager and operation of each entry. */
export function managers(
  managedFields: readonly { manager?: string; operation?: string }[] | undefined,
): string[] {
  return (managedFields ?? []).map((m) => `${m.manager ?? '?'}/${m.operation ?? '?'}`).sort();
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
}

/**
 * The JSON patch that hands the fields a create gave `manager` (operation Update) to its Apply
 * entry: the other managers' entries kept, the Update one relabelled. Undefined when there is no
 * such entry.
 */
export function migrationPatch(
  entries: readonly ManagedFieldsEntry[],
  manager: string,
): unknown[] | undefined {
  if (!entries.some((e) => e.manager === manager && e.operation === 'Update')) return undefined;
  const value = entries.map((e) =>
    e.manager === manager && e.operation === 'Update' ? { ...e, operation: 'Apply' } : e,
  );
  return [{ op: 'replace', path: '/metadata/managedFields', value }];
}
