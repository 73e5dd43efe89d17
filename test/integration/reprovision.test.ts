import { failureKey, failuresBucket, manifestsBucket } from '@fleetscan/bus';
import { natsConnectOptions } from '@fleetscan/stack';
import { setHeaderOptions } from '@kubernetes/client-node';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  currentReplicaSet,
  deployment,
  type Kube,
  kubeFor,
  waitReport,
  waitScanFailedEvent,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

/**
 * A cluster's buckets deleted by an operator after its watcher and writer opened them: each service
 * notices (stream not found), asks the scanners to provision its cluster again, counts it, and the
 * work that failed meanwhile is retried rather than dropped. The writer's consumer is the same
 * story, covered in fleet.test.ts.
 */

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `reprov-${run}`;
const cluster = `reprov-${run}`;
let k: Kube;
let svc: Services;
let admin: NatsConnection;
let jsm: JetStreamManager;

const missing = (n: number) => `${stack().registry.host}/library/missing-${run}-${n}:1`;
const rsUid = async (name: string) => (await currentReplicaSet(k, ns, name)).metadata?.uid ?? '';
const exists = async (stream: string) =>
  (await jsm.streams.info(stream).catch(() => undefined)) !== undefined;
const bigConfigMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  // Past MAX_INLINE_MANIFEST_BYTES (256 KiB): the manifest goes through the manifests bucket.
  data: { 'quotes.txt': '"'.repeat(300_000) },
});

async function record(image: string) {
  const kv = await new Kvm(admin).open(failuresBucket(cluster));
  const e = await kv.get(failureKey(ns, image)).catch(() => null);
  return e?.operation === 'PUT' ? e : undefined;
}

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
  const scope = { NAMESPACES_INCLUDE: ns, SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload,ConfigMap' };
  svc = await startServices(stack(), cluster, { watcher: scope, writer: scope });
  admin = await connect(natsConnectOptions(stack()));
  jsm = await jetstreamManager(admin);
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await admin?.close();
  await k.core.deleteNamespace({ name: ns }).catch(() => {});
});

describe('a cluster bucket deleted after it was opened', () => {
  it('the failures bucket: asked for again, and a failure meanwhile is recorded in the new one', async () => {
    const stream = `KV_${failuresBucket(cluster)}`;
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('m1', missing(1)) });
    await waitScanFailedEvent(k, ns, await rsUid('m1'));
    await waitFor('the first record', () => record(missing(1)));

    await jsm.streams.delete(stream);
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('m2', missing(2)) });
    // The writer fails to record m2's failure (the bucket is gone): the result is retried, the
    // bucket asked for again, and the record and the Event arrive.
    await waitFor('the bucket made again', async () => ((await exists(stream)) ? true : undefined), 90_000);
    await waitFor('the record of the failure seen meanwhile', () => record(missing(2)), 90_000);
    await waitScanFailedEvent(k, ns, await rsUid('m2'));
    expect(
      await metricValue(svc.writer.registry, 'fleetscan_writer_reprovisions_total', { resource: 'failures' }),
    ).toBeGreaterThan(0);
    // The watcher's view follows the new bucket from its start (its sequences began again at 1):
    // a new owner running m2's image is held until the record's retryAt, not asked for.
    const held = () =>
      metricValue(svc.watcher.registry, 'fleetscan_watcher_requests_total', {
        type: 'image',
        outcome: 'held',
      });
    const before = await held();
    let i = 0;
    await waitFor(
      "the watcher to hold m2's image",
      async () => {
        // A changed pod template is a new ReplicaSet: a new owner, evaluated at once.
        await k.apps.patchNamespacedDeployment(
          {
            namespace: ns,
            name: 'm2',
            body: { spec: { template: { metadata: { annotations: { round: String(i++) } } } } },
          },
          setHeaderOptions('Content-Type', 'application/merge-patch+json'),
        );
        await new Promise((r) => setTimeout(r, 3000));
        return (await held()) > before ? true : undefined;
      },
      60_000,
    );
  }, 300_000);

  it('the manifests bucket: asked for again by the next large manifest, whose audit still arrives', async () => {
    const stream = `OBJ_${manifestsBucket(cluster)}`;
    await k.core.createNamespacedConfigMap({ namespace: ns, body: bigConfigMap('big1') });
    await waitReport(k, 'ConfigAuditReport', ns, 'configmap-big1', 120_000);

    await jsm.streams.delete(stream);
    await k.core.createNamespacedConfigMap({ namespace: ns, body: bigConfigMap('big2') });
    await waitReport(k, 'ConfigAuditReport', ns, 'configmap-big2', 120_000);
    expect(await exists(stream)).toBe(true);
    expect(
      await metricValue(svc.watcher.registry, 'fleetscan_watcher_reprovisions_total', {
        resource: 'manifests',
      }),
    ).toBeGreaterThan(0);
  }, 300_000);

  it('while no scanner runs to make it again, /readyz of the writer and the watcher says which is missing', async () => {
    const stream = `KV_${failuresBucket(cluster)}`;
    for (const s of svc.scanners.splice(0)) await s.stop();
    await jsm.streams.delete(stream);
    const services = [
      ['writer', svc.writer.metricsPort],
      ['watcher', svc.watcher.metricsPort],
    ] as const;
    for (const [name, port] of services) {
      const text = await waitFor(`${name} /readyz to name the missing bucket`, async () => {
        const r = await readyz(port);
        return !r.ok && r.text.includes('failures missing') ? r.text : undefined;
      });
      expect(text).toContain('none running');
    }
    await svc.addScanner();
    await waitFor('the bucket made again', async () => ((await exists(stream)) ? true : undefined));
    for (const [name, port] of services) {
      await waitFor(`${name} ready again`, async () => ((await readyz(port)).ok ? true : undefined));
    }
    expect(
      await metricValue(svc.watcher.registry, 'fleetscan_watcher_reprovisions_total', {
        resource: 'failures',
      }),
    ).toBeGreaterThan(0);
  }, 300_000);
});

async function readyz(port: number): Promise<{ ok: boolean; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { ok: r.ok, text: await r.text() };
}
