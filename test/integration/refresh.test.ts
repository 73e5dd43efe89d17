import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_BUCKET, STATE_KEY_TRIVY_DB } from '@fleetscan/bus';
import {
  buildImage,
  natsConnectOptions,
  pushImage,
  type Registry,
  startRegistry,
  testImages,
} from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { currentReplicaSet, deployment, getReport, type Kube, kubeFor, waitReport } from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { buildTestDb, copyTrivyCache } from '../support/trivydb.ts';
import { waitFor } from '../support/wait.ts';

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `refresh-${run}`;
let k: Kube;
let svc: Services;
let cacheDir = '';
let registry: Registry | undefined;
let stackDb: string | undefined;

type Vuln = { vulnerabilityID: string; severity: string };
const imageRuns = () =>
  Promise.all(
    svc.scanners.map((s) => metricValue(s.registry, 'fleetscan_scanner_trivy_runs_total', { type: 'image' })),
  ).then((v) => v.reduce((a, b) => a + b, 0));

/** The fleet's DB version only moves forward: put back the stack's, or later files see this file's newer one. */
async function fleetDb(put?: string): Promise<string | undefined> {
  const nc = await connect(natsConnectOptions(stack()));
  try {
    const state = await new Kvm(jetstream(nc)).create(STATE_BUCKET);
    if (put) await state.put(STATE_KEY_TRIVY_DB, put);
    const e = await state.get(STATE_KEY_TRIVY_DB);
    return e?.operation === 'PUT' ? e.string() : undefined;
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  stackDb = await fleetDb();
  k = kubeFor(stack().kubeconfigPath);
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
  // This file's scanner has a DB of its own, so the test can replace it.
  cacheDir = await copyTrivyCache(stack().trivy.cacheDir);
  // The image lives in a registry this test stops later: refreshes must not pull it again.
  registry = await startRegistry({ dir: join(cacheDir, 'registry'), dieWithParent: true });
  await pushImage(
    { url: registry.url },
    await buildImage({ ...testImages.nginx, repository: 'library/web', tag: '1' }),
  );
  svc = await startServices(stack(), `refresh-${run}`, {
    scanner: { TRIVY_CACHE_DIR: cacheDir, DB_CHECK_SECONDS: '1' },
    writer: { REPORT_TTL: '6s' },
    watcher: { RESYNC_SECONDS: '1', REFRESH_INTERVAL_SECONDS: '0.5', TAG_RECHECK_SECONDS: '0' },
  });
});

afterAll(async () => {
  await svc?.stop();
  if (stackDb) await fleetDb(stackDb);
  await registry?.stop();
  await k.core.deleteNamespace({ name: ns }).catch(() => {});
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

describe('refreshing reports without pulling images again', () => {
  let name = '';

  beforeAll(async () => {
    await k.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', `${registry?.host}/library/web:1`),
    });
    const rs = await currentReplicaSet(k, ns, 'web');
    name = `replicaset-${rs.metadata?.name}-nginx`;
    await waitReport(k, 'VulnerabilityReport', ns, name);
  });

  it('refreshes a report when its TTL expires, by re-matching the stored SBOM', async () => {
    const first = await waitReport(k, 'VulnerabilityReport', ns, name);
    expect(first.metadata.annotations?.['trivy-operator.aquasecurity.github.io/report-ttl']).toBe('6s');
    const runs = await imageRuns();
    const refreshed = await waitFor(
      'the report to be refreshed after its TTL',
      async () => {
        const r = await getReport(k, 'VulnerabilityReport', ns, name);
        return r && r.report.updateTimestamp !== first.report.updateTimestamp ? r : undefined;
      },
      60_000,
    );
    expect(Date.parse(String(refreshed.report.updateTimestamp))).toBeGreaterThan(
      Date.parse(String(first.report.updateTimestamp)),
    );
    expect(await imageRuns()).toBe(runs);
  });

  it('re-matches every image against a new vulnerability DB, with the registry gone', async () => {
    await registry?.stop();
    const runs = await imageRuns();
    await buildTestDb({
      into: cacheDir,
      updatedAt: '2026-11-20T00:00:00Z',
      extra: [
        {
          id: 'CVE-2026-99999',
          title: 'bash: a vulnerability published after the first scan',
          description: 'Added by the DB refresh test.',
          severity: 'HIGH',
          publishedDate: '2026-11-19T00:00:00Z',
          affects: [{ platform: 'debian 11', package: 'bash', fixedVersion: '5.1-2+deb11u2' }],
        },
      ],
    });
    const updated = await waitFor(
      'the report to show the new advisory',
      async () => {
        const r = await getReport(k, 'VulnerabilityReport', ns, name);
        const ids = ((r?.report.vulnerabilities ?? []) as Vuln[]).map((v) => v.vulnerabilityID);
        return ids.includes('CVE-2026-99999') ? r : undefined;
      },
      90_000,
    );
    expect(updated.metadata.annotations?.['fleetscan.io/db-updated-at']).toBe('2026-11-20T00:00:00Z');
    expect((updated.report.vulnerabilities as Vuln[]).map((v) => v.vulnerabilityID)).toContain(
      'CVE-2021-22945',
    );
    expect(await imageRuns()).toBe(runs);
  });

  it('applies a new severity filter to exactly the affected reports, from the SBOM', async () => {
    const runs = await imageRuns();
    await svc.restartWatcher({ SEVERITIES: 'CRITICAL,HIGH' });
    const filtered = await waitFor(
      'the report to be rebuilt with only CRITICAL and HIGH findings',
      async () => {
        const r = await getReport(k, 'VulnerabilityReport', ns, name);
        const sev = ((r?.report.vulnerabilities ?? []) as Vuln[]).map((v) => v.severity);
        return sev.length > 0 && sev.every((s) => s === 'CRITICAL' || s === 'HIGH') ? r : undefined;
      },
      60_000,
    );
    expect(filtered.report.summary).toMatchObject({ mediumCount: 0, lowCount: 0 });
    expect(await imageRuns()).toBe(runs);
    expect(
      await metricValue(svc.watcher.registry, 'fleetscan_watcher_refreshes_total', { reason: 'settings' }),
    ).toBeGreaterThan(0);
  });
});

describe('exposed secrets', () => {
  it('writes an ExposedSecretReport for an image with a planted credential', async () => {
    await svc.restartWatcher({ SCANNERS: 'vuln,secret', SEVERITIES: '' });
    await k.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('leaky', `${stack().registry.host}/library/secret:1.0`),
    });
    const rs = await currentReplicaSet(k, ns, 'leaky');
    const report = await waitReport(k, 'ExposedSecretReport', ns, `replicaset-${rs.metadata?.name}-nginx`);
    const secrets = report.report.secrets as {
      ruleID: string;
      match: string;
      severity: string;
      target: string;
    }[];
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets[0]?.ruleID).toMatch(/aws/);
    expect(secrets[0]?.match).toContain('*');
    expect(report.metadata.ownerReferences?.[0]?.uid).toBe(rs.metadata?.uid);
  });
});
