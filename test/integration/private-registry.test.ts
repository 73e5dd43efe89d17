import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  currentReplicaSet,
  deployment,
  getReport,
  type Kube,
  kubeFor,
  waitReport,
  waitScanFailedEvent,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const withSecret = `priv-${run}-a`;
const withSaSecret = `priv-${run}-b`;
const without = `priv-${run}-c`;
let k: Kube;
let svc: Services;
let dir = '';

const image = () => `${stack().authRegistry.host}/library/nginx:1.20`;

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-keys-'));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'scanner.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'scanner.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const { host, username, password } = stack().authRegistry;
  const dockerconfig = JSON.stringify({
    auths: {
      [host]: { username, password, auth: Buffer.from(`${username}:${password}`).toString('base64') },
    },
  });
  for (const ns of [withSecret, withSaSecret, without])
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
  for (const ns of [withSecret, withSaSecret]) {
    await k.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'regcred' },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') },
      },
    });
  }
  // Namespace b gets its pull secret through its ServiceAccount, as the kubelet would use it.
  await waitFor('the default ServiceAccount', () =>
    k.core.readNamespacedServiceAccount({ name: 'default', namespace: withSaSecret }),
  );
  await k.core.replaceNamespacedServiceAccount({
    name: 'default',
    namespace: withSaSecret,
    body: { metadata: { name: 'default' }, imagePullSecrets: [{ name: 'regcred' }] },
  });
  svc = await startServices(stack(), `priv-${run}`, {
    watcher: { SCANNER_PUBLIC_KEY_FILE: join(dir, 'scanner.pub') },
    scanner: { SCANNER_PRIVATE_KEY_FILE: join(dir, 'scanner.key') },
  });
});

afterAll(async () => {
  await svc?.stop();
  for (const ns of [withSecret, withSaSecret, without])
    await k.core.deleteNamespace({ name: ns }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('private registries', () => {
  it('scans with the workload pull secret or its ServiceAccount one; without, no report but a ScanFailed Event, once', async () => {
    const withPullSecret = deployment('app', image());
    withPullSecret.spec!.template.spec!.imagePullSecrets = [{ name: 'regcred' }];
    await k.apps.createNamespacedDeployment({ namespace: withSecret, body: withPullSecret });
    await k.apps.createNamespacedDeployment({ namespace: withSaSecret, body: deployment('app', image()) });
    await k.apps.createNamespacedDeployment({ namespace: without, body: deployment('app', image()) });

    for (const ns of [withSecret, withSaSecret]) {
      const rs = await currentReplicaSet(k, ns, 'app');
      const r = await waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs.metadata?.name}-nginx`);
      expect(r.metadata.annotations?.['fleetscan.io/scan-error']).toBeUndefined();
      expect(
        (r.report.vulnerabilities as { vulnerabilityID: string }[]).map((v) => v.vulnerabilityID),
      ).toContain('CVE-2021-22945');
    }
    const rs = await currentReplicaSet(k, without, 'app');
    const name = `replicaset-${rs.metadata?.name}-nginx`;
    // No report (zero findings would look clean): a Warning Event on the ReplicaSet names the error.
    const event = await waitScanFailedEvent(k, without, rs.metadata?.uid ?? '');
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/UNAUTHORIZED/);
    expect(event.message).toContain(image());
    expect(await getReport(k, 'VulnerabilityReport', without, name)).toBeUndefined();

    // Not a retry loop: the failure record holds the watcher's requests until its retry time.
    const errors = () =>
      Promise.all(
        svc.scanners.map((s) =>
          metricValue(s.registry, 'fleetscan_scanner_requests_total', { type: 'image', outcome: 'error' }),
        ),
      );
    const before = (await errors()).reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, 4000));
    expect((await errors()).reduce((a, b) => a + b, 0)).toBe(before);
    expect(await getReport(k, 'VulnerabilityReport', without, name)).toBeUndefined();
  });

  it('never writes the registry password to logs or reports', async () => {
    const { password } = stack().authRegistry;
    const logs = (await readdir(stack().dir)).filter((f) => f.endsWith('.log') && f.includes(`priv-${run}`));
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const f of logs) expect(await readFile(join(stack().dir, f), 'utf8'), f).not.toContain(password);
    const rs = await currentReplicaSet(k, withSecret, 'app');
    const r = await getReport(k, 'VulnerabilityReport', withSecret, `replicaset-${rs.metadata?.name}-nginx`);
    expect(JSON.stringify(r)).not.toContain(password);
  });
});
