import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCAN_ACK_WAIT_MS } from '@fleetscan/bus';
import { startServiceProcesses, waitServicesReady } from '@fleetscan/demo';
import { testImages } from '@fleetscan/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushUniqueImage } from '../support/images.ts';
import { currentReplicaSet, deployment, type Kube, kubeFor, waitReport } from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `failover-${run}`;
let k: Kube;
let svc: Services;
let dir = '';

const uniqueImage = (tag: string) => pushUniqueImage(stack(), testImages.nginx, 'library/failover', tag, run);

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-failover-'));
  svc = await startServices(stack(), `f-${run}`);
});

afterAll(async () => {
  await svc?.stop();
  await k.core.deleteNamespace({ name: ns }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('scanner replicas', () => {
  it('two replicas share the work', async () => {
    await svc.addScanner();
    const images = await Promise.all(['a', 'b', 'c', 'd'].map((t) => uniqueImage(`share-${t}`)));
    const runs = () =>
      Promise.all(
        svc.scanners.map((s) =>
          metricValue(s.registry, 'fleetscan_scanner_trivy_runs_total', { type: 'image' }),
        ),
      );
    const before = await runs();
    await Promise.all(
      images.map((img, i) =>
        k.apps.createNamespacedDeployment({ namespace: ns, body: deployment(`share-${i}`, img) }),
      ),
    );
    for (let i = 0; i < images.length; i++) {
      const rs = await currentReplicaSet(k, ns, `share-${i}`);
      await waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs.metadata?.name}-nginx`);
    }
    const after = await runs();
    const delta = after.map((v, i) => v - (before[i] ?? 0));
    expect(delta.reduce((a, b) => a + b, 0)).toBe(images.length);
    expect(delta.filter((d) => d > 0).length).toBe(2);
  });

  it('a replica killed mid-scan loses nothing: its message is redelivered to another within the ack wait', async () => {
    // Stop the in-process replicas; a scanner process whose trivy takes a while does the first attempt.
    for (const s of svc.scanners.splice(0)) await s.stop();
    const slowTrivy = join(dir, 'slow-trivy');
    await writeFile(
      slowTrivy,
      `#!/bin/sh\n# The real trivy, started late, so the test can kill the scanner mid-scan.\n/bin/sleep 30\nexec ${stack().trivy.bin} "$@"\n`,
    );
    await chmod(slowTrivy, 0o755);
    // The service's default ack wait: in-progress acks are the keep-alive, so a dead replica's
    // message moves once they stop for that long.
    const ackWait = String(DEFAULT_SCAN_ACK_WAIT_MS / 1000);
    const [victim] = await startServiceProcesses(stack(), {
      cluster: svc.cluster,
      scanners: 1,
      only: 'scanner',
      env: { TRIVY_BIN: slowTrivy, TRIVY_RUNS: 'process', ACK_WAIT_SECONDS: ackWait },
    });
    if (!victim) throw new Error('scanner process did not start');
    await waitServicesReady([victim]);
    const image = await uniqueImage('killed');
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('killed', image) });
    await waitFor('the scanner process to be running trivy', async () => {
      const text = await fetch(`${victim.metricsUrl}/metrics`).then((r) => r.text());
      return /fleetscan_scanner_scans_in_flight\{type="image"\} 1/.test(text) ? true : undefined;
    });
    process.kill(-victim.process.pid, 'SIGKILL');
    const killedAt = Date.now();
    await victim.process.exited;
    const survivor = await svc.addScanner({ ACK_WAIT_SECONDS: ackWait });
    const rs = await currentReplicaSet(k, ns, 'killed');
    const report = await waitReport(k, 'VulnerabilityReport', ns, `replicaset-${rs.metadata?.name}-nginx`);
    // A figure for the record, not an assertion: the box is shared and noisy.
    console.log(
      `[failover] report ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the scanner was killed (ack wait ${ackWait} s)`,
    );
    expect(
      (report.report.vulnerabilities as { vulnerabilityID: string }[]).map((v) => v.vulnerabilityID),
    ).toContain('CVE-2021-22945');
    expect(
      await metricValue(survivor.registry, 'fleetscan_scanner_trivy_runs_total', { type: 'image' }),
    ).toBe(1);
  });
});
