import { setTimeout as sleep } from 'node:timers/promises';
import { createTransport, type KubeConnection, type KubeTransport } from '@fleetscan/kube';
import { CONFIG_AUDIT_REPORT, GROUP, VERSION, VULNERABILITY_REPORT } from '@fleetscan/reports';
import {
  ignoresFieldValidation,
  type ManagedFieldsEntry,
  managers,
  migrationPatch,
  type ReportBody,
  reportBody,
  reportTemplate,
  type WayCost,
  type WriteBatch,
  type WriteWay,
  wayCosts,
} from './api-cost-plan.ts';
import { type BenchContext, now } from './context.ts';
import { ownCpu, readCpu } from './proc.ts';
import { mapLimit } from './stats.ts';

/** The writer's field manager and its default WRITE_CONCURRENCY. */
const FIELD_MANAGER = 'fleetscan-writer';
const CONCURRENCY = 8;
const ROUNDS = 4;
const TEMPLATES_PER_KIND = 25;
const IDLE_MS = 5000;
const TIMEOUT_MS = 60_000;
const PROBE_ANNOTATION = 'fleetscan.io/bench-dropped';

export interface ApiCostResult {
  /** Reports created each way (and then updated once). */
  reportsPerWay: number;
  concurrency: number;
  rounds: number;
  templates: number;
  meanBodyBytes: number;
  idle: { apiserverPerSec: number; etcdPerSec: number };
  costs: WayCost[];
  /**
   * Field ownership after each way of creating, then an apply that no longer sets an annotation the
   * create set: server-side apply removes a field its manager stops applying; a field first written
   * by a create (an Update) is not the applier's, so it stays.
   */
  semantics: {
    created: 'apply' | 'post' | 'post-migrated';
    managersAfterCreate: string[];
    managersAfterApply: string[];
    droppedFieldRemoved: boolean;
  }[];
}

/**
 * Writes `reports` new reports with server-side apply and as many with POST, then updates each set
 * with server-side apply, in rounds that alternate the ways; kube-apiserver's and etcd's CPU per
 * write from /proc. Runs with the services stopped, in a namespace of its own, deleted after.
 */
export async function runApiCost(
  ctx: BenchContext,
  o: { reports: number; kube: KubeConnection },
): Promise<ApiCostResult> {
  const api = createTransport(o.kube);
  const pid = (name: string) => ctx.stackPids.find((p) => p.name === name)?.pid;
  const apiserver = pid('kube-apiserver');
  const etcd = pid('etcd');
  const cpu = () => ({
    apiserver: apiserver ? ownCpu(readCpu(apiserver) ?? zero) : 0,
    etcd: etcd ? ownCpu(readCpu(etcd) ?? zero) : 0,
  });
  const namespace = `apicost-${ctx.run}`;
  const signal = () => AbortSignal.timeout(TIMEOUT_MS);
  await api.request(
    { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: namespace } } },
    signal(),
  );
  try {
    const templates = await loadTemplates(api);
    if (templates.length === 0) throw new Error('api cost: no report of the run to copy');
    const bytes = templates.map((t) => JSON.stringify(t).length);
    ctx.io.say(
      `API cost: ${o.reports} reports created each way (apply, apply with fieldValidation=Ignore, POST) and updated by apply, ${CONCURRENCY} at once, from ${templates.length} real reports of ${Math.round(mean(bytes))} bytes on average`,
    );

    const c0 = cpu();
    const t0 = now();
    await sleep(IDLE_MS);
    const c1 = cpu();
    const idleSec = (now() - t0) / 1000;
    const idle = {
      apiserverPerSec: (c1.apiserver - c0.apiserver) / idleSec,
      etcdPerSec: (c1.etcd - c0.etcd) / idleSec,
    };

    const batches: WriteBatch[] = [];
    const perRound = Math.ceil(o.reports / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      const first = r * perRound;
      const count = Math.min(perRound, o.reports - first);
      if (count <= 0) break;
      // Alternate which way goes first, so a drift in the box's load falls on both.
      const creates: WriteWay[] =
        r % 2 === 0
          ? ['apply-create', 'apply-create-ignore', 'post-create', 'post-create-migrated']
          : ['post-create-migrated', 'post-create', 'apply-create-ignore', 'apply-create'];
      const updates: WriteWay[] =
        r % 2 === 0
          ? ['apply-update-of-applied', 'apply-update-ignore', 'apply-update-of-posted']
          : ['apply-update-of-posted', 'apply-update-ignore', 'apply-update-of-applied'];
      for (const way of [...creates, ...updates]) {
        const at = new Date().toISOString();
        const bodies = Array.from({ length: count }, (_, k) =>
          reportBody(templates[(first + k) % templates.length] as (typeof templates)[number], {
            way,
            i: first + k,
            namespace,
            at,
          }),
        );
        const before = cpu();
        const began = now();
        let failures = 0;
        await mapLimit(bodies, CONCURRENCY, (b) =>
          write(api, way, b).catch(() => {
            failures++;
          }),
        );
        const after = cpu();
        batches.push({
          way,
          writes: count - failures,
          failures,
          wallMs: now() - began,
          apiserverSec: after.apiserver - before.apiserver,
          etcdSec: after.etcd - before.etcd,
        });
      }
    }
    const costs = wayCosts(batches, idle);
    for (const c of costs) {
      ctx.io.say(
        `  ${c.way}: kube-apiserver ${c.apiserverMs.toFixed(2)} ms, etcd ${c.etcdMs.toFixed(2)} ms of CPU per write`,
      );
    }
    return {
      reportsPerWay: o.reports,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      templates: templates.length,
      meanBodyBytes: mean(bytes),
      idle,
      costs,
      semantics: [
        await semantics(api, namespace, 'apply', templates[0] as (typeof templates)[number]),
        await semantics(api, namespace, 'post', templates[0] as (typeof templates)[number]),
        await semantics(api, namespace, 'post-migrated', templates[0] as (typeof templates)[number]),
      ],
    };
  } finally {
    await api
      .request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}` }, signal())
      .catch(() => {});
  }
}

const zero = { user: 0, system: 0, childUser: 0, childSystem: 0 };
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const plural = (kind: string) =>
  kind === VULNERABILITY_REPORT.kind ? VULNERABILITY_REPORT.plural : CONFIG_AUDIT_REPORT.plural;
const collection = (namespace: string, kind: string) =>
  `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural(kind)}`;

/** Reports of the run, both kinds, as the writer sent them. */
async function loadTemplates(api: KubeTransport) {
  const out: ReturnType<typeof reportTemplate>[] = [];
  for (const r of [VULNERABILITY_REPORT, CONFIG_AUDIT_REPORT]) {
    const list = (await api.getJson(
      `/apis/${GROUP}/${VERSION}/${r.plural}`,
      { limit: TEMPLATES_PER_KIND },
      AbortSignal.timeout(TIMEOUT_MS),
    )) as { items?: Parameters<typeof reportTemplate>[0][] };
    for (const item of list.items ?? []) out.push(reportTemplate(item));
  }
  return out;
}

/** One write by server-side apply (with or without field validation), or by POST with the writer's field manager. */
async function write(api: KubeTransport, way: WriteWay, b: ReportBody): Promise<void> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  if (way === 'post-create' || way === 'post-create-migrated') {
    const created = (await api.request(
      {
        method: 'POST',
        path: collection(b.metadata.namespace, b.kind),
        query: { fieldManager: FIELD_MANAGER },
        body: b,
      },
      signal,
    )) as { metadata?: { managedFields?: ManagedFieldsEntry[] } };
    if (way === 'post-create') return;
    const patch = migrationPatch(created.metadata?.managedFields ?? [], FIELD_MANAGER);
    if (!patch) throw new Error('api cost: a create without the writer’s Update entry');
    await api.request(
      {
        method: 'PATCH',
        path: `${collection(b.metadata.namespace, b.kind)}/${b.metadata.name}`,
        body: patch,
        contentType: 'application/json-patch+json',
      },
      signal,
    );
    return;
  }
  await api.request(
    {
      method: 'PATCH',
      path: `${collection(b.metadata.namespace, b.kind)}/${b.metadata.name}`,
      query: {
        fieldManager: FIELD_MANAGER,
        force: true,
        ...(ignoresFieldValidation(way) && { fieldValidation: 'Ignore' }),
      },
      body: b,
      contentType: 'application/apply-patch+yaml',
    },
    signal,
  );
}

/** Creates one report with an extra annotation, then applies it without: is the annotation gone? */
async function semantics(
  api: KubeTransport,
  namespace: string,
  created: 'apply' | 'post' | 'post-migrated',
  template: ReturnType<typeof reportTemplate>,
): Promise<ApiCostResult['semantics'][number]> {
  const name = `semantics-${created}`;
  const base = reportBody(template, { way: 'apply-create', i: 0, namespace, at: '' });
  const body = { ...base, metadata: { ...base.metadata, name } };
  const withExtra = {
    ...body,
    metadata: {
      ...body.metadata,
      annotations: { ...body.metadata.annotations, [PROBE_ANNOTATION]: 'set-at-create' },
    },
  };
  const way: WriteWay =
    created === 'apply' ? 'apply-create' : created === 'post' ? 'post-create' : 'post-create-migrated';
  await write(api, way, withExtra);
  const path = `${collection(namespace, body.kind)}/${name}`;
  const read = async () =>
    (await api.getJson(path, {}, AbortSignal.timeout(TIMEOUT_MS))) as {
      metadata?: {
        annotations?: Record<string, string>;
        managedFields?: { manager?: string; operation?: string }[];
      };
    };
  const afterCreate = await read();
  await write(api, 'apply-update-of-applied', body);
  const afterApply = await read();
  return {
    created,
    managersAfterCreate: managers(afterCreate.metadata?.managedFields),
    managersAfterApply: managers(afterApply.metadata?.managedFields),
    droppedFieldRemoved: afterApply.metadata?.annotations?.[PROBE_ANNOTATION] === undefined,
  };
}
