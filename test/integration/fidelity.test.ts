import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractPodSpec } from '@fleetscan/inventory';
import { computeSpecHash } from '@fleetscan/reports';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AnyReport,
  currentReplicaSet,
  deployment,
  getReport,
  type Kube,
  kubeFor,
  waitReport,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Field fidelity and trivy-operator's settings on the real stack: reports another tool wrote are
 * adopted, image references keep their tag, default reports leave out what trivy-operator leaves
 * out, a report field change needs no scan, and ignore files and per-namespace ignore policies
 * reach trivy.
 */

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `fid-${run}`;
const nsB = `fid-${run}-b`;
let k: Kube;
let svc: Services;
let dir = '';
let rsA = '';
let rsAUid = '';

type Vuln = {
  vulnerabilityID: string;
  resource: string;
  packagePURL?: string;
  description?: string;
  links?: string[];
};
type ManagedFields = { manager: string; operation: string }[];

const nginx = () => stack().images.find((i) => i.name === 'library/nginx:1.20');
const imageRuns = () =>
  Promise.all(
    svc.scanners.map((s) => metricValue(s.registry, 'fleetscan_scanner_trivy_runs_total', { type: 'image' })),
  ).then((v) => v.reduce((a, b) => a + b, 0));
const ids = (r: AnyReport | undefined) =>
  new Set(((r?.report.vulnerabilities ?? []) as Vuln[]).map((v) => v.vulnerabilityID));

/** A report as trivy-operator v0.32 writes it: its labels, its field manager (an update, not an apply). */
async function createAsTrivyOperator(plural: string, body: Record<string, unknown>): Promise<void> {
  await k.custom.createNamespacedCustomObject({
    group: 'aquasecurity.github.io',
    version: 'v1alpha1',
    namespace: ns,
    plural,
    body,
    fieldManager: 'trivy-operator',
  });
}

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  for (const name of [ns, nsB]) await k.core.createNamespace({ body: { metadata: { name } } });
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-fidelity-'));
  // trivy's YAML ignore file, for every namespace; a Rego policy under trivy-operator's key for nsB only.
  await writeFile(join(dir, '.trivyignore.yaml'), 'vulnerabilities:\n  - id: CVE-2011-3374\n');
  await mkdir(join(dir, 'policies'));
  await writeFile(
    join(dir, 'policies', `trivy.ignorePolicy.${nsB}`),
    'package trivy\n\nimport rego.v1\n\ndefault ignore := false\n\nignore if input.VulnerabilityID == "CVE-2021-22945"\n',
  );
  // A tag and a digest, as a pinned pod spec names an image.
  const image = `${stack().registry.host}/library/nginx:1.20@${nginx()?.digest}`;
  await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', image) });
  await k.apps.createNamespacedDeployment({
    namespace: nsB,
    body: deployment('web', `${stack().registry.host}/library/nginx:1.20`),
  });
  const rs = await currentReplicaSet(k, ns, 'web');
  rsA = rs.metadata?.name ?? '';
  rsAUid = rs.metadata?.uid ?? '';
  // trivy-operator ran here before: its reports exist, current by its own rules (same spec hash).
  const raw = (await k.custom.getNamespacedCustomObject({
    group: 'apps',
    version: 'v1',
    namespace: ns,
    plural: 'replicasets',
    name: rsA,
  })) as Parameters<typeof extractPodSpec>[1];
  const specHash = computeSpecHash(extractPodSpec('ReplicaSet', raw));
  const metadata = (name: string, container?: string) => ({
    name,
    namespace: ns,
    labels: {
      'app.kubernetes.io/managed-by': 'trivy-operator',
      'trivy-operator.resource.kind': 'ReplicaSet',
      'trivy-operator.resource.name': rsA,
      'trivy-operator.resource.namespace': ns,
      'resource-spec-hash': specHash,
      ...(container && { 'trivy-operator.container.name': container }),
    },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: rsA,
        uid: rsAUid,
        controller: true,
        blockOwnerDeletion: false,
      },
    ],
  });
  const scanner = { name: 'Trivy', vendor: 'Aqua Security', version: '0.67.2' };
  // Scanned "later" than any scan fleetscan's shared cache holds: it must be replaced all the same.
  const later = new Date(Date.now() + 3_600_000).toISOString();
  await createAsTrivyOperator('vulnerabilityreports', {
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'VulnerabilityReport',
    metadata: metadata(`replicaset-${rsA}-nginx`, 'nginx'),
    report: {
      updateTimestamp: later,
      scanner,
      registry: { server: stack().registry.host },
      // mimeType: a field trivy-operator sets and fleetscan does not.
      artifact: {
        repository: 'library/nginx',
        tag: '1.20',
        mimeType: 'application/vnd.oci.image.index.v1+json',
      },
      os: { family: 'debian', name: '11.3' },
      summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 1, unknownCount: 0, noneCount: 0 },
      vulnerabilities: [
        {
          vulnerabilityID: 'CVE-0000-0001',
          resource: 'made-up',
          installedVersion: '1',
          fixedVersion: '',
          severity: 'LOW',
          title: 'written by trivy-operator',
          primaryLink: '',
          publishedDate: '2020-01-01T00:00:00Z',
          lastModifiedDate: '2020-01-01T00:00:00Z',
        },
      ],
    },
  });
  await createAsTrivyOperator('configauditreports', {
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'ConfigAuditReport',
    metadata: metadata(`replicaset-${rsA}`),
    report: {
      updateTimestamp: later,
      scanner,
      summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 },
      checks: [],
    },
  });
  svc = await startServices(stack(), `fid-${run}`, {
    watcher: {
      RESYNC_SECONDS: '1',
      REFRESH_INTERVAL_SECONDS: '0.5',
      TAG_RECHECK_SECONDS: '0',
      IGNORE_FILE: join(dir, '.trivyignore.yaml'),
      IGNORE_POLICY_DIR: join(dir, 'policies'),
    },
  });
});

afterAll(async () => {
  await svc?.stop();
  for (const name of [ns, nsB]) await k.core.deleteNamespace({ name }).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

const fleetscans = (kind: 'VulnerabilityReport' | 'ConfigAuditReport', name: string) =>
  waitFor(
    `${kind} ${ns}/${name} written by fleetscan`,
    async () => {
      const r = await getReport(k, kind, ns, name);
      return r?.metadata.labels['app.kubernetes.io/managed-by'] === 'fleetscan' ? r : undefined;
    },
    120_000,
  );

describe('migrating from trivy-operator', () => {
  it("adopts trivy-operator's reports as a whole, even ones holding a later scan: none of its fields or field managers is left", async () => {
    // The adoption is two writes: the patch (fleetscan's content, no field managers), then the apply.
    const applied = (kind: 'VulnerabilityReport' | 'ConfigAuditReport', name: string) =>
      waitFor(`${kind} ${ns}/${name} applied by fleetscan-writer`, async () => {
        const r = await fleetscans(kind, name);
        const managers = (r.metadata as { managedFields?: ManagedFields }).managedFields ?? [];
        return managers.some((m) => m.manager === 'fleetscan-writer') ? r : undefined;
      });
    const vuln = await applied('VulnerabilityReport', `replicaset-${rsA}-nginx`);
    const config = await applied('ConfigAuditReport', `replicaset-${rsA}`);
    for (const r of [vuln, config]) {
      expect(r.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'ReplicaSet', name: rsA, uid: rsAUid, controller: true }),
      ]);
      const managers = (r.metadata as { managedFields?: ManagedFields }).managedFields ?? [];
      expect(managers.map((m) => m.manager)).not.toContain('trivy-operator');
      expect(managers.map((m) => m.manager)).toContain('fleetscan-writer');
    }
    expect(ids(vuln)).not.toContain('CVE-0000-0001');
    expect(ids(vuln)).toContain('CVE-2021-22945');
    expect(vuln.report.artifact).not.toHaveProperty('mimeType');
    expect(Date.parse(String(vuln.report.updateTimestamp))).toBeLessThan(Date.now() + 600_000);
    // The writer counts a write once its apply has returned: the report can be seen a moment before.
    await waitFor('both adoptions counted', async () =>
      (await metricValue(svc.writer.registry, 'fleetscan_writer_reports_total', { outcome: 'adopted' })) >= 2
        ? true
        : undefined,
    );
  });
});

describe('reports as trivy-operator v0.32 writes them', () => {
  it('keeps the tag of a repo:tag@sha256 reference, with its digest', async () => {
    const r = await fleetscans('VulnerabilityReport', `replicaset-${rsA}-nginx`);
    expect(r.report.artifact).toEqual({ repository: 'library/nginx', tag: '1.20', digest: nginx()?.digest });
  });

  it('writes packagePURL, and no description and empty links unless asked', async () => {
    const r = await fleetscans('VulnerabilityReport', `replicaset-${rsA}-nginx`);
    const curl = (r.report.vulnerabilities as Vuln[]).find(
      (v) => v.vulnerabilityID === 'CVE-2021-22945' && v.resource === 'curl',
    );
    expect(curl?.packagePURL).toBe('pkg:deb/debian/curl@7.74.0-1.3%2Bdeb11u1?arch=amd64&distro=debian-11.3');
    // trivy-operator writes `links: []` unless Links is asked for, and no description.
    for (const v of r.report.vulnerabilities as Vuln[]) {
      expect(v).not.toHaveProperty('description');
      expect(v.links).toEqual([]);
    }
  });

  it('applies .trivyignore.yaml everywhere and a namespace ignore policy in its namespace only', async () => {
    const rsB = (await currentReplicaSet(k, nsB, 'web')).metadata?.name;
    const b = await waitReport(k, 'VulnerabilityReport', nsB, `replicaset-${rsB}-nginx`, 120_000);
    const a = await fleetscans('VulnerabilityReport', `replicaset-${rsA}-nginx`);
    expect(ids(a)).not.toContain('CVE-2011-3374');
    expect(ids(b)).not.toContain('CVE-2011-3374');
    expect(ids(a)).toContain('CVE-2021-22945');
    expect(ids(b)).not.toContain('CVE-2021-22945');
    expect(ids(b)).toContain('CVE-2021-22946');
    expect(a.metadata.annotations?.['fleetscan.io/scan-config-hash']).not.toBe(
      b.metadata.annotations?.['fleetscan.io/scan-config-hash'],
    );
  });

  it('shows description and links once asked, rewriting the reports from the stored scan', async () => {
    const name = `replicaset-${rsA}-nginx`;
    await fleetscans('VulnerabilityReport', name);
    const runs = await imageRuns();
    await svc.restartWatcher({ ADDITIONAL_VULNERABILITY_REPORT_FIELDS: 'Description,Links' });
    const r = await waitFor(
      'the report to show descriptions and links',
      async () => {
        const got = await getReport(k, 'VulnerabilityReport', ns, name);
        const vulns = (got?.report.vulnerabilities ?? []) as Vuln[];
        return vulns.length > 0 && vulns.every((v) => v.description && v.links) ? got : undefined;
      },
      90_000,
    );
    const curl = (r.report.vulnerabilities as Vuln[]).find((v) => v.vulnerabilityID === 'CVE-2021-22945');
    expect(curl?.links?.length).toBeGreaterThan(0);
    expect(ids(r)).not.toContain('CVE-2011-3374');
    expect(await imageRuns()).toBe(runs);
  });
});

describe('exposed secrets, on by default as in trivy-operator', () => {
  it('finds secrets in the image config (its Env) as well as in the layers, without SCANNERS set', async () => {
    const image = `${stack().registry.host}/library/secret:1.0`;
    await k.apps.createNamespacedDeployment({ namespace: nsB, body: deployment('leaky', image) });
    const rs = await currentReplicaSet(k, nsB, 'leaky');
    const report = await waitReport(
      k,
      'ExposedSecretReport',
      nsB,
      `replicaset-${rs.metadata?.name}-nginx`,
      120_000,
    );
    const secrets = report.report.secrets as { ruleID: string; target: string }[];
    expect(secrets).toContainEqual(
      expect.objectContaining({ ruleID: 'aws-access-key-id', target: '/app/credentials' }),
    );
    // trivy names an image-config secret after the image reference it scanned: the pod spec's.
    expect(secrets).toContainEqual(expect.objectContaining({ ruleID: 'jwt-token', target: image }));
  });
});
