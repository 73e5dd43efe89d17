import { describe, expect, it } from 'vitest';
import { managers, migrationPatch, reportBody, reportTemplate, wayCosts } from './api-cost-plan.ts';

const real = {
  apiVersion: 'aquasecurity.github.io/v1alpha1',
  kind: 'VulnerabilityReport',
  metadata: {
    name: 'replicaset-w1-app',
    namespace: 'bench-000',
    uid: 'u1',
    resourceVersion: '7',
    labels: { 'trivy-operator.resource.kind': 'ReplicaSet' },
    annotations: { 'fleetscan.io/content-hash': 'h1' },
    ownerReferences: [{ uid: 'o1' }],
    managedFields: [{ manager: 'fleetscan-writer' }],
  },
  report: { summary: { criticalCount: 1 } },
};

describe('API cost per report write', () => {
  it('copies a real report as the writer sends it: no server fields, no owner', () => {
    expect(reportTemplate(real)).toEqual({
      apiVersion: real.apiVersion,
      kind: real.kind,
      metadata: { labels: real.metadata.labels, annotations: real.metadata.annotations },
      report: real.report,
    });
  });

  it('names reports for how they were created, and an update changes content hash and time', () => {
    const t = reportTemplate(real);
    const created = reportBody(t, { way: 'post-create', i: 3, namespace: 'n', at: 'T' });
    expect(created.metadata).toEqual({ ...t.metadata, name: 'posted-00003', namespace: 'n' });
    const updated = reportBody(t, { way: 'apply-update-of-posted', i: 3, namespace: 'n', at: 'T' });
    expect(updated.metadata.name).toBe('posted-00003');
    expect(updated.metadata.annotations).toEqual({
      'fleetscan.io/content-hash': 'refresh-3',
      'fleetscan.io/updated-at': 'T',
    });
    expect(
      reportBody(t, { way: 'apply-update-of-applied', i: 0, namespace: 'n', at: 'T' }).metadata.name,
    ).toBe('applied-00000');
    expect(updated.report).toBe(real.report);
    // Applies without field validation write reports of their own, created and then updated.
    expect(reportBody(t, { way: 'apply-create-ignore', i: 1, namespace: 'n', at: 'T' }).metadata.name).toBe(
      'unvalidated-00001',
    );
    expect(
      reportBody(t, { way: 'apply-update-ignore', i: 1, namespace: 'n', at: 'T' }).metadata.annotations,
    ).toEqual({ 'fleetscan.io/content-hash': 'refresh-1', 'fleetscan.io/updated-at': 'T' });
  });

  it('takes the idle rate out of each way’s CPU and divides by its writes', () => {
    const costs = wayCosts(
      [
        { way: 'apply-create', writes: 100, failures: 0, wallMs: 2000, apiserverSec: 1.2, etcdSec: 0.3 },
        { way: 'apply-create', writes: 100, failures: 1, wallMs: 2000, apiserverSec: 1.2, etcdSec: 0.3 },
        { way: 'post-create', writes: 200, failures: 0, wallMs: 2000, apiserverSec: 0.9, etcdSec: 0.2 },
      ],
      { apiserverPerSec: 0.1, etcdPerSec: 0.05 },
    );
    expect(costs.map((c) => c.way)).toEqual(['apply-create', 'post-create']);
    const [apply, post] = costs;
    // (2.4 − 0.1 × 4 s) ÷ 200 writes
    expect(apply?.apiserverMs).toBeCloseTo(10);
    expect(apply?.etcdMs).toBeCloseTo(2);
    expect(apply?.failures).toBe(1);
    expect(apply?.writesPerSec).toBe(50);
    expect(post?.apiserverMs).toBeCloseTo(3.5);
  });

  it('turns the create’s Update entry into an Apply entry, leaving the others', () => {
    const entries = [
      { manager: 'fleetscan-writer', operation: 'Update', fieldsV1: { 'f:report': {} } },
      { manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } },
    ];
    expect(migrationPatch(entries, 'fleetscan-writer')).toEqual([
      {
        op: 'replace',
        path: '/metadata/managedFields',
        value: [{ ...entries[0], operation: 'Apply' }, entries[1]],
      },
    ]);
    expect(
      migrationPatch([{ manager: 'fleetscan-writer', operation: 'Apply' }], 'fleetscan-writer'),
    ).toBeUndefined();
  });

  it('lists who manages a report and how', () => {
    expect(
      managers([
        { manager: 'fleetscan-writer', operation: 'Update' },
        { manager: 'fleetscan-writer', operation: 'Apply' },
      ]),
    ).toEqual(['fleetscan-writer/Apply', 'fleetscan-writer/Update']);
    expect(managers(undefined)).toEqual([]);
  });
});
