import { isKubeError, type KubeConnection, KubeErrorCode, loadKubeConfig } from '@fleetscan/kube';
import { CONFIG_AUDIT_REPORT } from '@fleetscan/reports';
import { createReportApi } from '@fleetscan/writer';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Kube, kubeFor } from '../support/kube.ts';

// The writer applies with fieldValidation=Ignore (apply.ts): what the real API server still checks.
const ns = `report-api-${Math.random().toString(36).slice(2, 7)}`;
let k: Kube;
let conn: KubeConnection;

beforeAll(async () => {
  k = kubeFor(inject('stack').kubeconfigPath);
  conn = loadKubeConfig({ kubeconfigPath: inject('stack').kubeconfigPath });
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  conn?.close();
  await k?.core.deleteNamespace({ name: ns }).catch(() => {});
});

const report = (name: string, summary: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'aquasecurity.github.io/v1alpha1',
  kind: CONFIG_AUDIT_REPORT.kind,
  metadata: { name, namespace: ns, labels: { 'trivy-operator.resource.kind': 'ReplicaSet' } },
  report: {
    scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
    summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0, ...summary },
    checks: [],
    ...extra,
  },
});

const read = async (name: string) =>
  (await k.custom.getNamespacedCustomObject({
    group: 'aquasecurity.github.io',
    version: 'v1alpha1',
    namespace: ns,
    plural: CONFIG_AUDIT_REPORT.plural,
    name,
  })) as { report: Record<string, unknown>; metadata: { managedFields?: { manager?: string }[] } };

describe("the writer's applies, on the real API server", () => {
  it('write a report under fleetscan-writer', async () => {
    await createReportApi(conn).apply(CONFIG_AUDIT_REPORT.plural, report('ok', { highCount: 2 }));
    const got = await read('ok');
    expect(got.report.summary).toEqual({ criticalCount: 0, highCount: 2, mediumCount: 0, lowCount: 0 });
    expect(got.metadata.managedFields?.map((m) => m.manager)).toEqual(['fleetscan-writer']);
  });

  it("are still refused when they break the CRD's schema", async () => {
    const err = await createReportApi(conn)
      .apply(CONFIG_AUDIT_REPORT.plural, report('bad', { highCount: 'two' }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isKubeError(err, KubeErrorCode.Invalid)).toBe(true);
    expect(String((err as Error).message)).toMatch(/highCount/);
  });

  it('lose fields the CRD does not know, as they did with warnings', async () => {
    await createReportApi(conn).apply(CONFIG_AUDIT_REPORT.plural, report('extra', {}, { notInTheCrd: 1 }));
    const got = await read('extra');
    expect(got.report).not.toHaveProperty('notInTheCrd');
    expect(got.report.summary).toMatchObject({ highCount: 0 });
  });
});
