import { describe, expect, it } from 'vitest';
import { isReportOwner, reportOwnerRef } from './owner-rules.ts';
import { projectWorkload } from './project-workload.ts';
import { cronJob, ownerRef, pod, replicaSet, withTemplate } from './testing/workload-fixtures.ts';
import type { Workload, WorkloadKind } from './workload.ts';

const project = (kind: WorkloadKind, obj: Parameters<typeof projectWorkload>[1]): Workload => {
  const w = projectWorkload(kind, obj);
  if (!w) throw new Error('fixture does not project');
  return w;
};

describe('isReportOwner', () => {
  it.each(['ReplicaSet', 'ReplicationController', 'StatefulSet', 'DaemonSet', 'Job'])(
    'a Pod controlled by a %s is not an owner',
    (kind) => {
      expect(isReportOwner(project('Pod', pod('p', ownerRef(kind, 'ctl'))))).toBe(false);
    },
  );

  it('a bare Pod, or one run by a non-built-in controller, is an owner', () => {
    expect(isReportOwner(project('Pod', pod('p')))).toBe(true);
    expect(isReportOwner(project('Pod', pod('p', ownerRef('Workflow', 'wf', 'argoproj.io/v1alpha1'))))).toBe(
      true,
    );
  });

  it('a Pod that only has a non-controller owner reference is an owner', () => {
    const p = pod('p');
    p.metadata = { ...p.metadata, ownerReferences: [{ ...ownerRef('ReplicaSet', 'rs'), controller: false }] };
    expect(isReportOwner(project('Pod', p))).toBe(true);
  });

  it("a Deployment's ReplicaSet is an owner while current, not once scaled to 0", () => {
    expect(
      isReportOwner(project('ReplicaSet', replicaSet('web-new', { deployment: 'web', replicas: 2 }))),
    ).toBe(true);
    expect(
      isReportOwner(project('ReplicaSet', replicaSet('web-old', { deployment: 'web', replicas: 0 }))),
    ).toBe(false);
  });

  it("with the Deployment's revision known, an old ReplicaSet still scaling down is not an owner", () => {
    const ctx = {
      deploymentRevision: (ns: string, name: string) => (ns === 'shop' && name === 'web' ? '3' : undefined),
    };
    expect(
      isReportOwner(project('ReplicaSet', replicaSet('web-new', { deployment: 'web', revision: '3' })), ctx),
    ).toBe(true);
    expect(
      isReportOwner(
        project('ReplicaSet', replicaSet('web-old', { deployment: 'web', revision: '2', replicas: 1 })),
        ctx,
      ),
    ).toBe(false);
    // Unknown Deployment (not in the cache yet): fall back to the replicas rule.
    expect(
      isReportOwner(project('ReplicaSet', replicaSet('api-1', { deployment: 'api', revision: '1' })), ctx),
    ).toBe(true);
  });

  it('a ReplicaSet without a Deployment is an owner, whatever its replicas', () => {
    expect(isReportOwner(project('ReplicaSet', replicaSet('bare', { replicas: 0 })))).toBe(true);
  });

  it('a Job run by a CronJob is not an owner; an unmanaged Job and the CronJob are', () => {
    expect(
      isReportOwner(
        project(
          'Job',
          withTemplate('Job', 'nightly-1', 'batch/v1', {}, ownerRef('CronJob', 'nightly', 'batch/v1')),
        ),
      ),
    ).toBe(false);
    expect(isReportOwner(project('Job', withTemplate('Job', 'once', 'batch/v1')))).toBe(true);
    expect(isReportOwner(project('CronJob', cronJob('nightly')))).toBe(true);
  });

  it('StatefulSets, DaemonSets and ReplicationControllers are owners; Deployments never', () => {
    expect(
      isReportOwner(project('StatefulSet', withTemplate('StatefulSet', 'db', 'apps/v1', { replicas: 0 }))),
    ).toBe(true);
    expect(isReportOwner(project('DaemonSet', withTemplate('DaemonSet', 'agent', 'apps/v1')))).toBe(true);
    expect(
      isReportOwner(project('ReplicationController', withTemplate('ReplicationController', 'legacy', 'v1'))),
    ).toBe(true);
    expect(
      isReportOwner(project('Deployment', withTemplate('Deployment', 'web', 'apps/v1', { replicas: 2 }))),
    ).toBe(false);
  });

  it('nothing being deleted is an owner', () => {
    const obj = withTemplate('DaemonSet', 'agent', 'apps/v1');
    // The wire's timestamp, a string; KubeObject leaves timestamps untyped.
    obj.metadata = { ...obj.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } as typeof obj.metadata;
    expect(isReportOwner(project('DaemonSet', obj))).toBe(false);
  });
});

describe('reportOwnerRef', () => {
  it('is the workload itself for an owner, the controller for a managed Pod or a CronJob Job', () => {
    expect(reportOwnerRef(project('Pod', pod('solo')))).toEqual({
      kind: 'Pod',
      name: 'solo',
      namespace: 'shop',
    });
    expect(reportOwnerRef(project('Pod', pod('web-x', ownerRef('ReplicaSet', 'web-5d9c'))))).toEqual({
      kind: 'ReplicaSet',
      name: 'web-5d9c',
      namespace: 'shop',
    });
    const job = withTemplate('Job', 'nightly-1', 'batch/v1', {}, ownerRef('CronJob', 'nightly', 'batch/v1'));
    expect(reportOwnerRef(project('Job', job))).toEqual({
      kind: 'CronJob',
      name: 'nightly',
      namespace: 'shop',
    });
  });

  it('is undefined for Deployments and old ReplicaSets', () => {
    expect(
      reportOwnerRef(project('Deployment', withTemplate('Deployment', 'web', 'apps/v1'))),
    ).toBeUndefined();
    expect(
      reportOwnerRef(project('ReplicaSet', replicaSet('web-old', { deployment: 'web', replicas: 0 }))),
    ).toBeUndefined();
  });
});
