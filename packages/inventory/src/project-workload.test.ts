import { describe, expect, it } from 'vitest';
import { containersOf, extractPodSpec, podSpecOf, projectWorkload } from './project-workload.ts';
import { cronJob, ownerRef, pod, replicaSet, withTemplate } from './testing/workload-fixtures.ts';
import { WORKLOAD_RESOURCES } from './workload.ts';

describe('extractPodSpec', () => {
  it('finds the pod spec for every kind', () => {
    expect(extractPodSpec('Pod', pod('p'))?.nodeName).toBe('node-1');
    expect(extractPodSpec('ReplicaSet', replicaSet('rs'))?.restartPolicy).toBe('Always');
    for (const [kind, apiVersion] of [
      ['ReplicationController', 'v1'],
      ['StatefulSet', 'apps/v1'],
      ['DaemonSet', 'apps/v1'],
      ['Job', 'batch/v1'],
      ['Deployment', 'apps/v1'],
    ] as const) {
      expect(extractPodSpec(kind, withTemplate(kind, 'x', apiVersion))?.containers?.[0]?.name, kind).toBe(
        'app',
      );
    }
    expect(extractPodSpec('CronJob', cronJob('cj'))?.restartPolicy).toBe('OnFailure');
  });

  it('is undefined when the object has no such spec', () => {
    expect(extractPodSpec('CronJob', withTemplate('CronJob', 'x', 'batch/v1'))).toBeUndefined();
    expect(extractPodSpec('Pod', { metadata: { name: 'x' } })).toBeUndefined();
  });
});

describe('containersOf', () => {
  it('lists containers, init and ephemeral containers, in that order', () => {
    expect(containersOf(extractPodSpec('Pod', pod('p')))).toEqual([
      { name: 'app', image: 'registry.local/library/nginx:1.20', kind: 'container' },
      { name: 'init', image: 'registry.local/library/busybox:1.36', kind: 'initContainer' },
      { name: 'debug', image: 'registry.local/library/busybox:1.36', kind: 'ephemeralContainer' },
    ]);
    expect(containersOf(undefined)).toEqual([]);
  });
});

describe('projectWorkload', () => {
  it('keeps identity, labels, controller, creation time, podSpec and containers of a report owner, and nothing else', () => {
    const obj = replicaSet('web-5d9c', { deployment: 'web', revision: '3' });
    const w = projectWorkload('ReplicaSet', obj);
    expect(w).toEqual({
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      namespace: 'shop',
      name: 'web-5d9c',
      uid: 'uid-web-5d9c',
      resourceVersion: '4711',
      labels: { app: 'web-5d9c' },
      controllerRef: { kind: 'Deployment', name: 'web', uid: 'uid-web', apiVersion: 'apps/v1' },
      replicas: 2,
      revision: '3',
      createdAtMs: Date.parse('2026-01-01T00:00:00Z'),
      podSpec: extractPodSpec('ReplicaSet', obj),
      containers: [
        { name: 'app', image: 'registry.local/library/nginx:1.20', kind: 'container' },
        { name: 'init', image: 'registry.local/library/busybox:1.36', kind: 'initContainer' },
      ],
    });
    // The spec is the wire object, untouched: it gets hashed.
    expect(podSpecOf(w!)).toBe((obj as { spec: { template: { spec: unknown } } }).spec.template.spec);
    const json = JSON.stringify(w);
    expect(json).not.toContain('managedFields');
    expect(json).not.toContain('last-applied');
    expect(json).not.toContain('readyReplicas');
  });

  it('keeps a bare Pod whole (spec, containers, imageIDs of containers that report one)', () => {
    const w = projectWorkload('Pod', pod('solo'));
    expect(w?.podSpec?.nodeName).toBe('node-1');
    expect(w?.containers.map((c) => c.name)).toEqual(['app', 'init', 'debug']);
    expect(w?.imageIDs).toEqual({ app: 'registry.local/library/nginx@sha256:aaa' });
    expect(w?.controllerRef).toBeUndefined();
  });

  it('drops the spec of non-owners: a ReplicaSet Pod keeps containers and imageIDs only', () => {
    const w = projectWorkload('Pod', pod('web-5d9c-x', ownerRef('ReplicaSet', 'web-5d9c')));
    expect(w?.podSpec).toBeUndefined();
    expect(w?.containers).toHaveLength(3);
    expect(w?.imageIDs).toEqual({ app: 'registry.local/library/nginx@sha256:aaa' });
  });

  it('drops spec and containers of an old ReplicaSet and of a CronJob-run Job', () => {
    const old = projectWorkload('ReplicaSet', replicaSet('web-old', { deployment: 'web', replicas: 0 }));
    expect(old?.podSpec).toBeUndefined();
    expect(old?.containers).toEqual([]);
    expect(old?.replicas).toBe(0);
    const job = projectWorkload(
      'Job',
      withTemplate('Job', 'nightly-29', 'batch/v1', {}, ownerRef('CronJob', 'nightly', 'batch/v1')),
    );
    expect(job?.podSpec).toBeUndefined();
  });

  it('marks terminating objects and omits absent optional fields', () => {
    const obj = pod('p');
    // The wire's timestamp, a string; KubeObject leaves timestamps untyped.
    obj.metadata = {
      ...obj.metadata,
      deletionTimestamp: '2026-01-01T00:00:00Z',
      labels: {},
    } as typeof obj.metadata;
    const w = projectWorkload('Pod', obj);
    expect(w?.terminating).toBe(true);
    expect(w?.podSpec).toBeUndefined();
    expect(w?.labels).toEqual({});
    const ds = projectWorkload('DaemonSet', withTemplate('DaemonSet', 'agent', 'apps/v1'));
    expect(ds).not.toHaveProperty('replicas');
    expect(ds).not.toHaveProperty('revision');
    expect(ds).not.toHaveProperty('imageIDs');
  });

  it('returns undefined for an object without name or uid', () => {
    expect(projectWorkload('Pod', { metadata: { name: 'x' } })).toBeUndefined();
    expect(projectWorkload('Pod', {})).toBeUndefined();
  });

  it('knows where each kind lives', () => {
    expect(WORKLOAD_RESOURCES.Pod).toEqual({ group: '', version: 'v1', plural: 'pods' });
    expect(WORKLOAD_RESOURCES.CronJob).toEqual({ group: 'batch', version: 'v1', plural: 'cronjobs' });
    expect(WORKLOAD_RESOURCES.ReplicationController.group).toBe('');
  });
});
