import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ClusterComplianceReport,
  ClusterComplianceReportSchema,
  ComplianceSpecSchema,
  normalizeCheckId,
} from '@fleetscan/reports';
import { repoRoot } from '@fleetscan/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDocument, visit } from 'yaml';
import { type ApiResponse, clusterOf, rawApi } from '../support/deploy-kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// ClusterComplianceReports on the real stack: a tiny fleet (a privileged Deployment sharing the host's
// namespaces, and a hardened one) is audited by the real pipeline; two ClusterComplianceReports with
// trivy's own specs (deploy/compliance) get their status from the reports in the cluster, written by
// the writer through the status subresource at the first firing of their cron (every minute here)
// after they were created, as trivy-operator does. Other test files' reports may be in the cluster
// too: what is asserted is what this fleet contributes.

const stack = inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `compliance-${run}`;
const { cluster, adminToken } = clusterOf(stack.kubeconfigPath);
const admin = rawApi(cluster, adminToken);
let svc: Services;

const CCR = '/apis/aquasecurity.github.io/v1alpha1/clustercompliancereports';
const expectStatus = (r: ApiResponse, ok: number[], what: string) =>
  expect(ok, `${what}: ${r.status} ${r.text.slice(0, 300)}`).toContain(r.status);

/** A vendored spec as trivy reads it: scalars are strings (`id: 5.10`), empty lists dropped. */
function readSpec(id: string) {
  const doc = parseDocument(readFileSync(join(repoRoot, 'deploy', 'compliance', `${id}.yaml`), 'utf8'));
  visit(doc, {
    Scalar(_k, n) {
      if (typeof n.value === 'number' && n.source !== undefined) n.value = n.source;
    },
    Pair(_k, p) {
      if ((p.value as { value?: unknown } | null)?.value === null) return visit.REMOVE;
    },
  });
  return ComplianceSpecSchema.parse((doc.toJS() as { spec: unknown }).spec);
}

const deployment = (
  name: string,
  pod: Record<string, unknown>,
  securityContext: Record<string, unknown>,
) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        ...pod,
        containers: [
          {
            name: 'app',
            image: `${stack.registry.host}/library/nginx:1.20`,
            resources: {
              limits: { memory: '128Mi', cpu: '500m' },
              requests: { memory: '64Mi', cpu: '100m' },
            },
            securityContext,
          },
        ],
      },
    },
  },
});

const reports = {
  baseline: { name: `pss-baseline-${run}`, spec: 'k8s-pss-baseline-0.1', reportType: 'all' },
  nsa: { name: `nsa-${run}`, spec: 'k8s-nsa-1.0', reportType: 'summary' },
} as const;

interface AuditReport {
  metadata: { name: string; labels: Record<string, string> };
  report: { checks: { checkID: string; success: boolean }[] };
}

let naiveReport: AuditReport;
let hardenedReport: AuditReport;

beforeAll(async () => {
  expectStatus(
    await admin.call('POST', '/api/v1/namespaces', { metadata: { name: ns } }),
    [201],
    'namespace',
  );
  for (const d of [
    deployment('naive', { hostIPC: true, hostPID: true, hostNetwork: true }, { privileged: true }),
    deployment(
      'hardened',
      {
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      },
      {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        runAsNonRoot: true,
        runAsUser: 10001,
      },
    ),
  ])
    expectStatus(
      await admin.call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, d),
      [201],
      `create ${d.metadata.name}`,
    );
  svc = await startServices(stack, `compliance-${run}`, {
    watcher: { NAMESPACES_INCLUDE: ns },
    writer: { CLUSTER_COMPLIANCE_ENABLED: 'true', COMPLIANCE_CHECK_SECONDS: '5' },
  });
  // The fleet's audit reports first: a status computed before them would not show this fleet.
  const auditOf = (deploymentName: string) =>
    waitFor(
      `ConfigAuditReport of ${deploymentName}'s ReplicaSet`,
      async () => {
        const r = await admin.call(
          'GET',
          `/apis/aquasecurity.github.io/v1alpha1/namespaces/${ns}/configauditreports`,
        );
        const items = (r.json() as unknown as { items: AuditReport[] }).items ?? [];
        return items.find((i) =>
          i.metadata.labels['trivy-operator.resource.name']?.startsWith(`${deploymentName}-`),
        );
      },
      150_000,
    );
  naiveReport = await auditOf('naive');
  hardenedReport = await auditOf('hardened');
  // The unit tests of the computation read these reports as captured here (their README says how).
  const capture = process.env.FLEETSCAN_CAPTURE_COMPLIANCE_REPORTS;
  if (capture) {
    mkdirSync(capture, { recursive: true });
    for (const [name, r] of [
      ['naive', naiveReport],
      ['hardened', hardenedReport],
    ] as const)
      writeFileSync(join(capture, `configauditreport-${name}.json`), `${JSON.stringify(r, null, 2)}\n`);
  }
  for (const r of Object.values(reports)) {
    const body = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'ClusterComplianceReport',
      metadata: { name: r.name },
      spec: { cron: '* * * * *', reportType: r.reportType, compliance: readSpec(r.spec) },
    };
    expectStatus(await admin.call('POST', CCR, body), [201], `create ${r.name}`);
  }
});

afterAll(async () => {
  await svc?.stop();
  for (const r of Object.values(reports)) await admin.call('DELETE', `${CCR}/${r.name}`).catch(() => {});
  await admin.call('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
});

const withStatus = (name: string) =>
  waitFor(
    `status of ClusterComplianceReport ${name}`,
    async () => {
      const r = await admin.call('GET', `${CCR}/${name}`);
      if (r.status !== 200) return undefined;
      const o = r.json() as unknown as ClusterComplianceReport;
      return o.status?.updateTimestamp ? o : undefined;
    },
    // The first firing after creation is at most a minute away; the loop looks every 5 s.
    150_000,
  );

const failedIds = (r: AuditReport) =>
  new Set(r.report.checks.filter((c) => !c.success).map((c) => normalizeCheckId(c.checkID)));

describe('ClusterComplianceReport from the real reports of a tiny fleet', () => {
  it('k8s-pss-baseline-0.1 (reportType all): the privileged fleet fails its controls, by its report', async () => {
    const cr = await withStatus(reports.baseline.name);
    // The status is what the CRD stores, field for field.
    expect(() => ClusterComplianceReportSchema.parse(cr)).not.toThrow();
    const spec = readSpec('k8s-pss-baseline-0.1');
    const results = cr.status?.detailReport?.results ?? [];
    expect(results.map((r) => r.id)).toEqual(spec.controls.map((c) => c.id));
    expect((cr.status?.summary?.failCount ?? 0) + (cr.status?.summary?.passCount ?? 0)).toBe(
      spec.controls.length,
    );

    const naiveTarget = `${ns}/${naiveReport.metadata.name}`;
    const hardenedTarget = `${ns}/${hardenedReport.metadata.name}`;
    const failedByNaive = failedIds(naiveReport);
    // Host Namespaces (KSV-0008, hostIPC) and Privileged Containers (KSV-0017) at least.
    for (const id of ['2', '3']) {
      const control = results.find((r) => r.id === id);
      const checkIds = (spec.controls.find((c) => c.id === id)?.checks ?? []).map((c) =>
        normalizeCheckId(c.id),
      );
      expect(
        checkIds.some((c) => failedByNaive.has(c)),
        `the naive report fails control ${id}`,
      ).toBe(true);
      expect(
        control?.checks.some((c) => c.target === naiveTarget && !c.success),
        `control ${id}`,
      ).toBe(true);
    }
    // Every control lists the naive report exactly when its report failed one of the control's checks.
    for (const c of spec.controls) {
      const listed =
        results.find((r) => r.id === c.id)?.checks.some((k) => k.target === naiveTarget) ?? false;
      const failed = (c.checks ?? []).some((k) => failedByNaive.has(normalizeCheckId(k.id)));
      // Lists are capped at 10 failures per control: a control failed by 10 others may leave it out.
      if (!failed) expect(listed, `control ${c.id}`).toBe(false);
    }
    // The hardened Deployment fails none of the baseline's checks.
    expect(results.flatMap((r) => r.checks).some((k) => k.target === hardenedTarget)).toBe(false);
    expect(cr.status?.summary?.failCount ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('k8s-nsa-1.0 (reportType summary): counts per control, and trivy_cluster_compliance serves them', async () => {
    const cr = await withStatus(reports.nsa.name);
    expect(() => ClusterComplianceReportSchema.parse(cr)).not.toThrow();
    const controls = cr.status?.summaryReport?.controlCheck ?? [];
    const spec = readSpec('k8s-nsa-1.0');
    expect(controls.map((c) => c.id)).toEqual(spec.controls.map((c) => c.id));
    expect(cr.status?.detailReport).toBeUndefined();
    // "Preventing privileged containers" maps to KSV-0017, which the naive Deployment fails.
    const privileged = spec.controls.find((c) => c.checks?.some((k) => normalizeCheckId(k.id) === 'KSV-17'));
    expect(controls.find((c) => c.id === privileged?.id)?.totalFail).toBeGreaterThanOrEqual(1);
    // Manual controls have no count, as trivy writes them.
    for (const c of controls.filter((x) => x.name?.includes('Manual'))) expect(c.totalFail).toBeUndefined();

    const labels = { title: spec.title, description: spec.description };
    const registry = svc.writer.registry;
    const served = await waitFor(
      'trivy_cluster_compliance with the status',
      async () => {
        const fail = await metricValue(registry, 'trivy_cluster_compliance', { ...labels, status: 'Fail' });
        return fail === (cr.status?.summary?.failCount ?? 0) ? fail : undefined;
      },
      30_000,
    );
    expect(served).toBeGreaterThan(0);
    expect(await metricValue(registry, 'trivy_cluster_compliance', { ...labels, status: 'Pass' })).toBe(
      cr.status?.summary?.passCount ?? 0,
    );
  });

  it('the status is computed again at the next firing', async () => {
    const first = await withStatus(reports.baseline.name);
    const at = Date.parse(first.status?.updateTimestamp ?? '');
    const again = await waitFor(
      'a newer status',
      async () => {
        const r = (
          await admin.call('GET', `${CCR}/${reports.baseline.name}`)
        ).json() as unknown as ClusterComplianceReport;
        return Date.parse(r.status?.updateTimestamp ?? '') > at ? r : undefined;
      },
      150_000,
    );
    // Not before the next firing: a later minute (the cron is every minute).
    const minute = (t: number) => Math.floor(t / 60_000);
    expect(minute(Date.parse(again.status?.updateTimestamp ?? ''))).toBeGreaterThan(minute(at));
  });
});
