import {
  isReportOwner,
  projectWorkload,
  WORKLOAD_RESOURCES,
  type Workload,
  type WorkloadKind,
} from '@fleetscan/inventory';
import {
  createReflector,
  type KubeConnection,
  type KubeLogger,
  loadKubeConfig,
  type Reflector,
  type ReflectorEvent,
} from '@fleetscan/kube';
import {
  type AppsV1Api,
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeFor } from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

const ns = `reflector-${Date.now().toString(36)}`;
/** The reflectors' connection (ours); the test's own calls go through client-node. */
let kc: KubeConnection;
let core: CoreV1Api;
let apps: AppsV1Api;
const running: Reflector<Workload>[] = [];

/** Keeps log records so tests can see what the reflector did (pages, re-lists) from outside. */
function recordingLogger() {
  const records: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      records.push({ level, msg, obj: obj as Record<string, unknown> });
  const logger: KubeLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, records };
}

/** A reflector over one workload kind, cluster-wide, projecting away everything outside the test namespace. */
function reflect(kind: WorkloadKind, pageSize = 500) {
  const events: ReflectorEvent<Workload>[] = [];
  const { logger, records } = recordingLogger();
  const reflector = createReflector<Workload>({
    kc,
    resource: WORKLOAD_RESOURCES[kind],
    project: (obj) => (obj.metadata?.namespace === ns ? projectWorkload(kind, obj) : undefined),
    logger,
    onEvent: (e) => events.push(e),
    pageSize,
    backoff: () => 200,
  });
  running.push(reflector);
  reflector.start();
  const of = (name: string) =>
    events.filter((e) => e.key === `${ns}/${name}`).map((e) => `${e.source}:${e.type}`);
  return { reflector, events, records, of };
}

const replicaSet = (name: string, replicas = 0, image = 'nginx:1.20'): V1ReplicaSet => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: `${inject('stack').registry.host}/library/${image}` }] },
    },
  },
});

async function updateReplicaSet(name: string, change: (rs: V1ReplicaSet) => void): Promise<void> {
  await waitFor(`update of ${name}`, async () => {
    const rs = await apps.readNamespacedReplicaSet({ name, namespace: ns });
    change(rs);
    await apps.replaceNamespacedReplicaSet({ name, namespace: ns, body: rs });
    return true;
  });
}

beforeAll(async () => {
  kc = loadKubeConfig({ kubeconfigPath: inject('stack').kubeconfigPath });
  ({ core, apps } = kubeFor(inject('stack').kubeconfigPath));
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await core.deleteNamespace({ name: ns }).catch(() => {});
  kc.close();
});

describe('reflector against the real kube-apiserver', () => {
  it('lists existing ReplicaSets in pages, then follows ADDED, MODIFIED and DELETED', async () => {
    for (let i = 0; i < 5; i++)
      await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet(`rs-${i}`) });
    const { reflector, records, of } = reflect('ReplicaSet', 2);
    await reflector.synced;
    expect(
      reflector
        .list()
        .map((w) => w.name)
        .sort(),
    ).toEqual(['rs-0', 'rs-1', 'rs-2', 'rs-3', 'rs-4']);
    const synced = records.find((r) => r.msg === 'reflector synced');
    expect(synced?.obj.pages).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 5; i++) expect(of(`rs-${i}`)).toEqual(['list:ADDED']);
    await waitFor('healthy', async () => (reflector.health().ok ? true : undefined));

    await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet('rs-new') });
    await updateReplicaSet('rs-0', (rs) => {
      const c = rs.spec?.template?.spec?.containers[0];
      if (c) c.image = `${inject('stack').registry.host}/library/nginx:1.21`;
    });
    await apps.deleteNamespacedReplicaSet({ name: 'rs-2', namespace: ns });
    await waitFor('the three live events', async () =>
      of('rs-new').length && of('rs-0').length === 2 && of('rs-2').length === 2 ? true : undefined,
    );
    expect(of('rs-new')).toEqual(['watch:ADDED']);
    expect(of('rs-0')).toEqual(['list:ADDED', 'watch:MODIFIED']);
    expect(of('rs-2')).toEqual(['list:ADDED', 'watch:DELETED']);
    expect(reflector.get(`${ns}/rs-0`)?.containers[0]?.image).toMatch(/nginx:1\.21$/);
    expect(reflector.get(`${ns}/rs-2`)).toBeUndefined();
    expect(reflector.health()).toEqual({ ok: true, reason: 'watching' });
  });

  it('does not report status-only changes: scaling up is one MODIFIED, however often the controller writes status', async () => {
    const { reflector, of } = reflect('ReplicaSet');
    await reflector.synced;
    await updateReplicaSet('rs-1', (rs) => {
      if (rs.spec) rs.spec.replicas = 2;
    });
    // The replicaset controller creates the Pods and then writes status.replicas (more resourceVersions).
    await waitFor('the controller to record both replicas in status', async () => {
      const rs = await apps.readNamespacedReplicaSet({ name: 'rs-1', namespace: ns });
      return rs.status?.replicas === 2 && rs.status.observedGeneration === rs.metadata?.generation
        ? true
        : undefined;
    });
    // The store follows every write (resourceVersion included) even when no event is emitted.
    const latest = (await apps.readNamespacedReplicaSet({ name: 'rs-1', namespace: ns })).metadata
      ?.resourceVersion;
    await waitFor('the reflector to catch up', async () =>
      reflector.get(`${ns}/rs-1`)?.resourceVersion === latest ? true : undefined,
    );
    expect(of('rs-1')).toEqual(['list:ADDED', 'watch:MODIFIED']);
    expect(reflector.get(`${ns}/rs-1`)?.replicas).toBe(2);
  });

  it('sees a Deployment through its ReplicaSets and Pods with the owner rules applied', async () => {
    const rsView = reflect('ReplicaSet');
    const podView = reflect('Pod');
    await Promise.all([rsView.reflector.synced, podView.reflector.synced]);
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          // Pods never become ready (no kubelet): Recreate is the strategy that still completes a rollout.
          strategy: { type: 'Recreate' },
          selector: { matchLabels: { app: 'web' } },
          template: replicaSet('web').spec!.template!,
        },
      },
    });
    const first = await waitFor('the first ReplicaSet of web', async () =>
      rsView.reflector
        .list()
        .find((w) => w.controllerRef?.kind === 'Deployment' && w.controllerRef.name === 'web'),
    );
    expect(isReportOwner(first)).toBe(true);
    expect(first.podSpec?.containers?.[0]?.image).toMatch(/nginx:1\.20$/);
    const pods = await waitFor('two Pods of web', async () => {
      const list = podView.reflector.list().filter((p) => p.controllerRef?.uid === first.uid);
      return list.length === 2 ? list : undefined;
    });
    for (const p of pods) {
      expect(isReportOwner(p)).toBe(false);
      expect(p.podSpec).toBeUndefined(); // not kept: it is the ReplicaSet's template
      expect(p.containers.map((c) => c.name)).toEqual(['app']);
    }

    // A new revision: Recreate scales the old ReplicaSet to 0, deletes its Pods, then creates the new one.
    // The deployment controller updates the object's status meanwhile: read, change, replace again on 409.
    for (let attempt = 1; ; attempt++) {
      const dep = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      dep.spec!.template.spec!.containers[0]!.image = `${inject('stack').registry.host}/library/nginx:1.21`;
      try {
        await apps.replaceNamespacedDeployment({ name: 'web', namespace: ns, body: dep });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
      }
    }
    const second = await waitFor('the second ReplicaSet of web', async () =>
      rsView.reflector
        .list()
        .find((w) => w.controllerRef?.name === 'web' && w.uid !== first.uid && w.replicas === 2),
    );
    await waitFor('the first ReplicaSet scaled to 0', async () =>
      rsView.reflector.get(`${ns}/${first.name}`)?.replicas === 0 ? true : undefined,
    );
    const old = rsView.reflector.get(`${ns}/${first.name}`)!;
    expect(isReportOwner(old)).toBe(false);
    expect(old.podSpec).toBeUndefined();
    expect(isReportOwner(second)).toBe(true);
    expect(second.revision).toBe('2');
    await waitFor('the old Pods deleted', async () =>
      pods.every((p) => podView.events.some((e) => e.type === 'DELETED' && e.obj.uid === p.uid))
        ? true
        : undefined,
    );
  });

  it('resumes after stop/start from its resourceVersion: no re-list, no duplicate ADDED, only what changed', async () => {
    const { reflector, events, records, of } = reflect('ReplicaSet');
    await reflector.synced;
    const before = events.length;
    expect(before).toBeGreaterThan(0);
    await reflector.stop();
    expect(reflector.health().ok).toBe(false);

    await updateReplicaSet('rs-3', (rs) => {
      rs.metadata!.labels = { ...rs.metadata?.labels, tier: 'backend' };
    });
    await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet('rs-while-stopped') });
    reflector.start();
    await waitFor('the changes made while stopped', async () =>
      of('rs-3').length === 2 && of('rs-while-stopped').length === 1 ? true : undefined,
    );
    await waitFor('healthy again', async () => (reflector.health().ok ? true : undefined));

    const after = events.slice(before);
    expect(after.map((e) => `${e.source}:${e.type}:${e.key}`).sort()).toEqual(
      [`watch:MODIFIED:${ns}/rs-3`, `watch:ADDED:${ns}/rs-while-stopped`].sort(),
    );
    expect(reflector.get(`${ns}/rs-3`)?.labels).toMatchObject({ tier: 'backend' });
    expect(records.filter((r) => r.msg === 'reflector re-listed')).toEqual([]);
  });

  it('metadata-only: lists and watches a CR as PartialObjectMetadata, without its body', async () => {
    const seen: { type: string; keys: string[]; annotation?: string }[] = [];
    const name = 'metadata-only';
    const report = (value: string) => ({
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'ConfigAuditReport',
      metadata: { name, namespace: ns, annotations: { 'fleetscan.io/updated-at': value } },
      report: {
        updateTimestamp: value,
        scanner: { name: 'Trivy', vendor: 'Aqua Security', version: 'test' },
        summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 },
        checks: [],
      },
    });
    const custom = kubeFor(inject('stack').kubeconfigPath).custom;
    const target = {
      group: 'aquasecurity.github.io',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'configauditreports',
    };
    await custom.createNamespacedCustomObject({ ...target, body: report('2026-01-01T00:00:00Z') });
    const reflector = createReflector<{ keys: string[]; annotation?: string }>({
      kc,
      resource: { group: 'aquasecurity.github.io', version: 'v1alpha1', plural: 'configauditreports' },
      metadataOnly: true,
      logger: recordingLogger().logger,
      project: (obj) =>
        obj.metadata?.namespace === ns
          ? {
              keys: Object.keys(obj).sort(),
              annotation: obj.metadata.annotations?.['fleetscan.io/updated-at'],
            }
          : undefined,
      onEvent: (e) => seen.push({ type: e.type, ...e.obj }),
    });
    reflector.start();
    try {
      await reflector.synced;
      await custom.patchNamespacedCustomObject(
        {
          ...target,
          name,
          body: { metadata: { annotations: { 'fleetscan.io/updated-at': '2026-02-02T00:00:00Z' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await waitFor('the MODIFIED event', async () => (seen.length >= 2 ? true : undefined));
      expect(seen).toEqual([
        { type: 'ADDED', keys: ['apiVersion', 'kind', 'metadata'], annotation: '2026-01-01T00:00:00Z' },
        { type: 'MODIFIED', keys: ['apiVersion', 'kind', 'metadata'], annotation: '2026-02-02T00:00:00Z' },
      ]);
    } finally {
      await reflector.stop();
    }
  });
});
