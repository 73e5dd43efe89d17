import {
  ConfigAuditResultSchema,
  encode,
  type ImageScanData,
  ImageScanResultSchema,
  subjects,
} from '@fleetscan/bus';
import { buildImage, natsConnectOptions, pushImage, testImages } from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
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
const ns = `lc-${run}`;
const excluded = `lc-${run}-excluded`;
let k: Kube;
let svc: Services;
const img = (name: string) => `${stack().registry.host}/library/${name}`;

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  for (const n of [ns, excluded]) await k.core.createNamespace({ body: { metadata: { name: n } } });
  svc = await startServices(stack(), `lc-${run}`, {
    watcher: {
      NAMESPACES_EXCLUDE: `${excluded},kube-*`,
      SKIP_LABELS: 'fleetscan.io/skip',
      EXCLUDE_IMAGES: '*/library/clean:*',
      TAG_RECHECK_SECONDS: '3',
      REFRESH_INTERVAL_SECONDS: '0.5',
    },
  });
});

afterAll(async () => {
  await svc?.stop();
  for (const n of [ns, excluded]) await k.core.deleteNamespace({ name: n }).catch(() => {});
});

describe('when reports are refreshed', () => {
  it("removes a superseded ReplicaSet's reports once it is scaled down, not 24 hours later", async () => {
    // Recreate: with no kubelet, new Pods never become ready, so a rolling update would never scale the old one down.
    const recreate = { strategy: { type: 'Recreate' } };
    await k.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('roll', img('nginx:1.20'), recreate),
    });
    const old = await currentReplicaSet(k, ns, 'roll');
    const oldName = `replicaset-${old.metadata?.name}`;
    await waitReport(k, 'VulnerabilityReport', ns, `${oldName}-nginx`);
    await waitReport(k, 'ConfigAuditReport', ns, oldName);
    await k.apps.replaceNamespacedDeployment({
      name: 'roll',
      namespace: ns,
      body: deployment('roll', img('alpine:3.18'), recreate),
    });
    const next = await waitFor('the new ReplicaSet', async () => {
      const r = await currentReplicaSet(k, ns, 'roll');
      return r.metadata?.uid !== old.metadata?.uid ? r : undefined;
    });
    await waitReport(k, 'VulnerabilityReport', ns, `replicaset-${next.metadata?.name}-nginx`);
    await waitFor("the old ReplicaSet's reports to be deleted", async () => {
      const v = await getReport(k, 'VulnerabilityReport', ns, `${oldName}-nginx`);
      const c = await getReport(k, 'ConfigAuditReport', ns, oldName);
      return !v && !c ? true : undefined;
    });
    // The old ReplicaSet still exists (kept for rollback): the garbage collector would not have acted.
    const stillThere = await k.apps.readNamespacedReplicaSet({
      name: old.metadata?.name ?? '',
      namespace: ns,
    });
    expect(stillThere.spec?.replicas).toBe(0);
  });

  it('notices a re-pushed (mutable) tag and rescans the new digest', async () => {
    const registry = { url: stack().registry.url };
    const first = await buildImage({ ...testImages.nginx, repository: 'library/mutable', tag: run });
    await pushImage(registry, first);
    await k.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('mutable', img(`mutable:${run}`)),
    });
    const rs = await currentReplicaSet(k, ns, 'mutable');
    const name = `replicaset-${rs.metadata?.name}-nginx`;
    const before = await waitReport(k, 'VulnerabilityReport', ns, name);
    const digest1 = (before.report.artifact as { digest: string }).digest;
    const second = await buildImage({ ...testImages.alpine, repository: 'library/mutable', tag: run });
    const pushed = await pushImage(registry, second);
    const after = await waitFor('the report to follow the new digest', async () => {
      const r = await getReport(k, 'VulnerabilityReport', ns, name);
      return r && (r.report.artifact as { digest: string }).digest !== digest1 ? r : undefined;
    });
    expect((after.report.artifact as { digest: string }).digest).toBe(pushed.digest);
    expect(
      (after.report.vulnerabilities as { vulnerabilityID: string }[]).map((v) => v.vulnerabilityID),
    ).toContain('CVE-2023-2650');
  });
});

describe('what is scanned', () => {
  it('skips excluded namespaces, skip-labelled workloads and excluded images; scans init containers', async () => {
    await k.apps.createNamespacedDeployment({
      namespace: excluded,
      body: deployment('ignored', img('nginx:1.20')),
    });
    const skipped = deployment('skipped', img('nginx:1.20'));
    skipped.metadata = { name: 'skipped', labels: { 'fleetscan.io/skip': 'true' } };
    skipped.spec!.template.metadata!.labels!['fleetscan.io/skip'] = 'true';
    await k.apps.createNamespacedDeployment({ namespace: ns, body: skipped });
    const mixed = deployment('mixed', img('nginx:1.20'));
    mixed.spec!.template.spec!.initContainers = [{ name: 'setup', image: img('alpine:3.18') }];
    mixed.spec!.template.spec!.containers.push({ name: 'clean', image: img('clean:1.0') });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: mixed });

    const rs = await currentReplicaSet(k, ns, 'mixed');
    const base = `replicaset-${rs.metadata?.name}`;
    await waitReport(k, 'VulnerabilityReport', ns, `${base}-nginx`);
    const init = await waitReport(k, 'VulnerabilityReport', ns, `${base}-setup`);
    expect((init.report.artifact as { repository: string }).repository).toBe('library/alpine');
    // By now the watcher has evaluated everything created before: none of the excluded got reports.
    const skippedRs = await currentReplicaSet(k, ns, 'skipped');
    expect(await getReport(k, 'VulnerabilityReport', ns, `${base}-clean`)).toBeUndefined();
    expect(
      await getReport(k, 'ConfigAuditReport', ns, `replicaset-${skippedRs.metadata?.name}`),
    ).toBeUndefined();
    expect(await listReports(k, 'VulnerabilityReport', excluded)).toEqual([]);
    expect(await listReports(k, 'ConfigAuditReport', excluded)).toEqual([]);
  });
});

describe('ordering', () => {
  it('never replaces a report with an older scan, and drops results for owners that are gone', async () => {
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('order', img('nginx:1.20')) });
    const rs = await currentReplicaSet(k, ns, 'order');
    const name = `replicaset-${rs.metadata?.name}-nginx`;
    const current = await waitReport(k, 'VulnerabilityReport', ns, name);

    const nc = await connect(natsConnectOptions(stack()));
    const js = jetstream(nc);
    const stale: ImageScanData = {
      scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.0.1' },
      registry: { server: stack().registry.host },
      artifact: { repository: 'library/nginx', tag: '1.20', digest: 'sha256:old' },
      os: { family: 'debian' },
      vulnerabilities: [],
      scannedAt: '2020-01-01T00:00:00Z',
      dbUpdatedAt: '2020-01-01T00:00:00Z',
    };
    const olderBefore = await metricValue(svc.writer.registry, 'fleetscan_writer_reports_total', {
      outcome: 'older',
    });
    await js.publish(
      subjects.resultImage(svc.cluster),
      encode(ImageScanResultSchema, {
        v: 1,
        cluster: svc.cluster,
        namespace: ns,
        image: img('nginx:1.20'),
        scanConfigHash: 'whatever',
        status: 'ok',
        data: stale,
        cached: true,
        finishedAt: new Date().toISOString(),
      }),
    );
    const goneBefore = await metricValue(svc.writer.registry, 'fleetscan_writer_results_total', {
      outcome: 'dropped_owner_gone',
    });
    await js.publish(
      subjects.resultConfig(svc.cluster),
      encode(ConfigAuditResultSchema, {
        v: 1,
        cluster: svc.cluster,
        owner: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          namespace: ns,
          name: 'gone',
          uid: `no-such-uid-${run}`,
        },
        specHash: 'x',
        pluginConfigHash: 'y',
        status: 'ok',
        data: { scanner: stale.scanner, checks: [], scannedAt: new Date().toISOString() },
        // Older than the writer's grace for owners it has not seen yet: dropped on first delivery.
        finishedAt: new Date(Date.now() - 120_000).toISOString(),
      }),
    );
    await nc.close();
    await waitFor('the older result to be recognised', async () => {
      const n = await metricValue(svc.writer.registry, 'fleetscan_writer_reports_total', {
        outcome: 'older',
      });
      return n > olderBefore ? true : undefined;
    });
    const after = await getReport(k, 'VulnerabilityReport', ns, name);
    expect(after?.metadata.uid).toBe(current.metadata.uid);
    expect(after?.report.updateTimestamp).toBe(current.report.updateTimestamp);
    expect(after?.report.vulnerabilities).not.toEqual([]);
    await waitFor('the result for a gone owner to be dropped and counted', async () => {
      const n = await metricValue(svc.writer.registry, 'fleetscan_writer_results_total', {
        outcome: 'dropped_owner_gone',
      });
      return n > goneBefore ? true : undefined;
    });
  });
});
