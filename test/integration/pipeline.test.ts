import { subjects } from '@fleetscan/bus';
import { natsConnectOptions, testImages } from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushUniqueImage } from '../support/images.ts';
import {
  type AnyReport,
  currentReplicaSet,
  deployment,
  getReport,
  type Kube,
  kubeFor,
  listReports,
  waitReport,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `pipe-${run}`;
let k: Kube;
let svc: Services;
const nginx = () => `${stack().registry.host}/library/nginx:1.20`;

/** A test image nobody else has pushed: its digest is unique, so its scans are countable. */
const uniqueImage = (tag: string) => pushUniqueImage(stack(), testImages.clean, 'library/unique', tag, run);

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
  svc = await startServices(stack(), `c-${run}`);
});

afterAll(async () => {
  await svc?.stop();
  await k.apps.deleteNamespacedDeployment({ name: 'naive', namespace: 'default' }).catch(() => {});
  await k.core.deleteNamespace({ name: ns }).catch(() => {});
});

describe('the main scenario: the naive Deployment in default', () => {
  let rsName = '';
  let rsUid = '';
  let config: AnyReport;
  let vuln: AnyReport;

  beforeAll(async () => {
    await k.apps.createNamespacedDeployment({ namespace: 'default', body: deployment('naive', nginx()) });
    const rs = await currentReplicaSet(k, 'default', 'naive');
    rsName = rs.metadata?.name ?? '';
    rsUid = rs.metadata?.uid ?? '';
    [config, vuln] = await Promise.all([
      waitReport(k, 'ConfigAuditReport', 'default', `replicaset-${rsName}`),
      waitReport(k, 'VulnerabilityReport', 'default', `replicaset-${rsName}-nginx`),
    ]);
  });

  it('writes a ConfigAuditReport owned by the current ReplicaSet with the failing checks', () => {
    expect(config.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ReplicaSet',
        name: rsName,
        uid: rsUid,
        controller: true,
        blockOwnerDeletion: false,
      }),
    ]);
    expect(config.metadata.labels).toMatchObject({
      'trivy-operator.resource.kind': 'ReplicaSet',
      'trivy-operator.resource.name': rsName,
      'trivy-operator.resource.namespace': 'default',
      'app.kubernetes.io/managed-by': 'fleetscan',
    });
    expect(config.metadata.labels['resource-spec-hash']).toMatch(/^\w+$/);
    expect(config.metadata.labels['plugin-config-hash']).toMatch(/^\w+$/);
    expect(config.metadata.annotations?.['trivy-operator.aquasecurity.github.io/report-ttl']).toBe('24h0m0s');
    const checks = config.report.checks as {
      checkID: string;
      success: boolean;
      severity: string;
      title: string;
      description: string;
      category: string;
      messages: string[];
    }[];
    const failed = checks.filter((c) => !c.success);
    for (const id of ['KSV110', 'KSV003']) {
      const c = failed.find((x) => x.checkID === id);
      expect(c, id).toBeDefined();
      expect(c).toMatchObject({
        title: expect.any(String),
        description: expect.any(String),
        category: expect.any(String),
      });
      expect(c?.messages.length).toBeGreaterThan(0);
    }
    expect(failed.find((c) => c.checkID === 'KSV110')?.title).toMatch(/default namespace/i);
    const bySeverity = (s: string) => failed.filter((c) => c.severity === s).length;
    expect(config.report.summary).toEqual({
      criticalCount: bySeverity('CRITICAL'),
      highCount: bySeverity('HIGH'),
      mediumCount: bySeverity('MEDIUM'),
      lowCount: bySeverity('LOW'),
    });
  });

  it('writes a VulnerabilityReport per container with CVE-2021-22945 on curl', () => {
    expect(vuln.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ReplicaSet',
        uid: rsUid,
        controller: true,
        blockOwnerDeletion: false,
      }),
    ]);
    expect(vuln.metadata.labels).toMatchObject({
      'trivy-operator.container.name': 'nginx',
      'trivy-operator.resource.kind': 'ReplicaSet',
      'trivy-operator.resource.name': rsName,
      'app.kubernetes.io/managed-by': 'fleetscan',
    });
    const r = vuln.report as {
      artifact: { repository: string; tag: string; digest: string };
      registry: { server: string };
      os: { family: string };
      scanner: { name: string; vendor: string; version: string };
      summary: Record<string, number>;
      vulnerabilities: {
        vulnerabilityID: string;
        resource: string;
        severity: string;
        installedVersion: string;
        fixedVersion: string;
      }[];
    };
    const pushed = stack().images.find((i) => i.name === 'library/nginx:1.20');
    expect(r.artifact).toMatchObject({ repository: 'library/nginx', tag: '1.20', digest: pushed?.digest });
    expect(r.registry.server).toBe(stack().registry.host);
    expect(r.os.family).toBe('debian');
    expect(r.scanner).toEqual({
      name: 'Trivy',
      vendor: 'Aqua Security',
      version: stack().versions.TRIVY_VERSION?.replace(/^v/, ''),
    });
    expect(r.vulnerabilities).toContainEqual(
      expect.objectContaining({
        vulnerabilityID: 'CVE-2021-22945',
        resource: 'curl',
        severity: 'CRITICAL',
        installedVersion: '7.74.0-1.3+deb11u1',
        fixedVersion: '7.74.0-1.3+deb11u2',
      }),
    );
    const count = (s: string) => r.vulnerabilities.filter((v) => v.severity === s).length;
    expect(r.summary).toMatchObject({
      criticalCount: count('CRITICAL'),
      highCount: count('HIGH'),
      mediumCount: count('MEDIUM'),
      lowCount: count('LOW'),
      unknownCount: count('UNKNOWN'),
    });
  });

  it("exports trivy-operator's report metrics from the writer", async () => {
    const name = `replicaset-${rsName}-nginx`;
    const critical = await waitFor('trivy_image_vulnerabilities for the report', async () => {
      const v = await metricValue(svc.writer.registry, 'trivy_image_vulnerabilities', {
        name,
        severity: 'Critical',
      });
      return v > 0 ? v : undefined;
    });
    expect(critical).toBe(vuln.report.summary.criticalCount);
    const text = await svc.writer.registry.getSingleMetricAsString('trivy_image_vulnerabilities');
    const line = text
      .split('\n')
      .find((l) => l.includes(`name="${name}"`) && l.includes('severity="Critical"'));
    for (const label of [
      'namespace="default"',
      'resource_kind="ReplicaSet"',
      `resource_name="${rsName}"`,
      'container_name="nginx"',
      'image_repository="library/nginx"',
      'image_tag="1.20"',
    ]) {
      expect(line).toContain(label);
    }
    // The families come from the writer's watch of reports, which sees the ConfigAuditReport on its
    // own time: waited for like the vulnerabilities above (CI once read 0 before the watch had it).
    const configName = `replicaset-${rsName}`;
    const want = config.report.summary.lowCount;
    let seen: number | undefined;
    await waitFor(`trivy_resource_configaudits Low = ${want}`, async () => {
      seen = await metricValue(svc.writer.registry, 'trivy_resource_configaudits', {
        name: configName,
        severity: 'Low',
      });
      return seen === want ? seen : undefined;
    }).catch(() => undefined);
    expect(seen).toBe(want);
  });

  it('brings a deleted report back, once', async () => {
    const name = `replicaset-${rsName}-nginx`;
    await k.custom.deleteNamespacedCustomObject({
      group: 'aquasecurity.github.io',
      version: 'v1alpha1',
      plural: 'vulnerabilityreports',
      namespace: 'default',
      name,
    });
    const back = await waitFor('the report to come back', async () => {
      const r = await getReport(k, 'VulnerabilityReport', 'default', name);
      return r && r.metadata.uid !== vuln.metadata.uid ? r : undefined;
    });
    expect(back.metadata.ownerReferences?.[0]?.uid).toBe(rsUid);
    const mine = (await listReports(k, 'VulnerabilityReport', 'default')).filter(
      (x) => x.metadata.ownerReferences?.[0]?.uid === rsUid,
    );
    expect(mine).toHaveLength(1);
  });

  it('writes reports for the new ReplicaSet when the image changes', async () => {
    await k.apps.patchNamespacedDeployment(
      {
        name: 'naive',
        namespace: 'default',
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: `${stack().registry.host}/library/alpine:3.18`,
          },
        ],
      },
      (await import('@kubernetes/client-node')).setHeaderOptions(
        'Content-Type',
        'application/json-patch+json',
      ),
    );
    const rs = await waitFor('a new current ReplicaSet', async () => {
      const r = await currentReplicaSet(k, 'default', 'naive');
      return r.metadata?.uid !== rsUid ? r : undefined;
    });
    const report = await waitReport(
      k,
      'VulnerabilityReport',
      'default',
      `replicaset-${rs.metadata?.name}-nginx`,
    );
    expect(report.metadata.ownerReferences?.[0]?.uid).toBe(rs.metadata?.uid);
    const ids = (report.report.vulnerabilities as { vulnerabilityID: string }[]).map(
      (v) => v.vulnerabilityID,
    );
    expect(ids).toContain('CVE-2023-2650');
  });
});

describe('ownership and sharing', () => {
  it('the garbage collector removes the reports of a deleted ReplicaSet', async () => {
    const image = nginx();
    const rs = await k.apps.createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: { name: 'lonely' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'lonely' } },
          template: {
            metadata: { labels: { app: 'lonely' } },
            spec: { containers: [{ name: 'web', image }] },
          },
        },
      },
    });
    await waitReport(k, 'VulnerabilityReport', ns, 'replicaset-lonely-web');
    await waitReport(k, 'ConfigAuditReport', ns, 'replicaset-lonely');
    await k.apps.deleteNamespacedReplicaSet({
      name: 'lonely',
      namespace: ns,
      propagationPolicy: 'Background',
    });
    await waitFor('reports to be garbage collected', async () => {
      const v = await getReport(k, 'VulnerabilityReport', ns, 'replicaset-lonely-web');
      const c = await getReport(k, 'ConfigAuditReport', ns, 'replicaset-lonely');
      return !v && !c ? true : undefined;
    });
    expect(rs.metadata?.uid).toBeDefined();
  });

  it('two Deployments on one image cause one trivy image scan', async () => {
    const image = await uniqueImage('shared');
    const runs = () =>
      Promise.all(
        svc.scanners.map((s) =>
          metricValue(s.registry, 'fleetscan_scanner_trivy_runs_total', { type: 'image' }),
        ),
      );
    const before = (await runs()).reduce((a, b) => a + b, 0);
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('one', image) });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('two', image) });
    const [rs1, rs2] = await Promise.all([currentReplicaSet(k, ns, 'one'), currentReplicaSet(k, ns, 'two')]);
    await Promise.all([
      waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs1.metadata?.name}-nginx`),
      waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs2.metadata?.name}-nginx`),
    ]);
    const after = (await runs()).reduce((a, b) => a + b, 0);
    expect(after - before).toBe(1);
  });
});

describe('robustness', () => {
  it('rejects a malformed request with a counted reason and keeps consuming', async () => {
    const count = () =>
      Promise.all(
        svc.scanners.map((s) =>
          metricValue(s.registry, 'fleetscan_scanner_failures_total', { reason: 'INVALID_MESSAGE' }),
        ),
      );
    const before = (await count()).reduce((a, b) => a + b, 0);
    const nc = await connect(natsConnectOptions(stack()));
    const js = jetstream(nc);
    await js.publish(subjects.scanImage(svc.cluster), new TextEncoder().encode('{not json'));
    await js.publish(
      subjects.scanConfig(svc.cluster),
      new TextEncoder().encode(JSON.stringify({ v: 1, cluster: svc.cluster })),
    );
    await nc.close();
    await waitFor('both malformed messages to be counted', async () => {
      const now = (await count()).reduce((a, b) => a + b, 0);
      return now - before >= 2 ? true : undefined;
    });
    // The consumer is not blocked: new work still gets done.
    const image = await uniqueImage('after-poison');
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('after-poison', image) });
    const rs = await currentReplicaSet(k, ns, 'after-poison');
    await waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs.metadata?.name}-nginx`);
  });
});
