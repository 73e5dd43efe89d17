import { failureKey, failuresBucket, type ScanFailureRecord, ScanFailureRecordSchema } from '@fleetscan/bus';
import { natsConnectOptions, testImages } from '@fleetscan/stack';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushUniqueImage } from '../support/images.ts';
import {
  currentReplicaSet,
  deployment,
  getReport,
  type Kube,
  kubeFor,
  scanFailedEvents,
  waitReport,
  waitScanFailedEvent,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

/**
 * A failed scan never looks clean (issue 11 §6) and has one retry chain per image (issue 14 §3), on
 * the real stack: an image that does not exist and one on the auth registry without credentials get
 * no VulnerabilityReport but a ScanFailed Warning Event on their owner, a record in the cluster's
 * failures bucket and the failing-images gauge; a restarted watcher does not ask before the record's
 * retryAt; once the image exists, the retry writes the report and the record and gauge go.
 */

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const ns = `fail-${run}`;
const cluster = `fail-${run}`;
let k: Kube;
let svc: Services;
let nc: NatsConnection;
let kv: KV;

const missing = () => `${stack().registry.host}/library/missing-${run}:1`;
const unauthorized = () => `${stack().authRegistry.host}/library/nginx:1.20`;
const rsUid = async (name: string) => (await currentReplicaSet(k, ns, name)).metadata?.uid ?? '';

async function record(image: string): Promise<ScanFailureRecord | undefined> {
  const e = await kv.get(failureKey(ns, image));
  return e?.operation === 'PUT' ? ScanFailureRecordSchema.parse(e.json()) : undefined;
}

/** Image scans the scanners counted as failed with `reason` (a permanent failure: one per round). */
async function scannerFailures(reason: string): Promise<number> {
  const counts = await Promise.all(
    svc.scanners.map((s) =>
      metricValue(s.registry, 'fleetscan_scanner_failures_total', { type: 'image', reason }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

const failingGauge = (reason: string) =>
  metricValue(svc.writer.registry, 'fleetscan_writer_failing_images', { namespace: ns, reason });

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  await k.core.createNamespace({ body: { metadata: { name: ns } } });
  svc = await startServices(stack(), cluster, {
    // Short, so the test sees retries (jittered: 15–30 s after the first failure, then 30–60 s).
    writer: { FAILED_SCAN_RETRY_SECONDS: '30', FAILED_SCAN_RETRY_MAX_SECONDS: '60' },
  });
  nc = await connect(natsConnectOptions(stack()));
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await nc?.close();
  await k.core.deleteNamespace({ name: ns }).catch(() => {});
});

describe('failed scans', () => {
  it('write no report: the owner gets a ScanFailed Warning Event naming the code, the failure is recorded and counted', async () => {
    const started = Date.now();
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('missing', missing()) });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('private', unauthorized()) });
    const [missingUid, privateUid] = [await rsUid('missing'), await rsUid('private')];

    const notFound = await waitScanFailedEvent(k, ns, missingUid);
    const denied = await waitScanFailedEvent(k, ns, privateUid);
    console.log(`[scan-failures] both failures visible as Events after ${Date.now() - started} ms`);
    expect(notFound).toMatchObject({ type: 'Warning', reason: 'ScanFailed' });
    expect(notFound.involvedObject).toMatchObject({ kind: 'ReplicaSet', namespace: ns, uid: missingUid });
    expect(notFound.message).toMatch(/NOT_FOUND/);
    expect(notFound.message).toContain(missing());
    expect(denied.message).toMatch(/UNAUTHORIZED/);

    for (const name of ['missing', 'private']) {
      const rs = await currentReplicaSet(k, ns, name);
      expect(
        await getReport(k, 'VulnerabilityReport', ns, `replicaset-${rs.metadata?.name}-nginx`),
      ).toBeUndefined();
    }

    kv = await new Kvm(nc).open(failuresBucket(cluster));
    const r = await waitFor('the failure record', () => record(missing()));
    expect(r).toMatchObject({ namespace: ns, image: missing(), failures: 1, permanent: true });
    expect(r.code).toMatch(/NOT_FOUND/);
    expect(Date.parse(r.retryAt)).toBeGreaterThan(Date.parse(r.lastFailedAt));
    expect(await record(unauthorized())).toMatchObject({ code: 'UNAUTHORIZED', failures: 1 });

    await waitFor('the failing-images gauge', async () =>
      (await failingGauge(r.code)) === 1 && (await failingGauge('UNAUTHORIZED')) === 1 ? true : undefined,
    );
    expect(
      await metricValue(svc.writer.registry, 'fleetscan_writer_scan_failures_total', { namespace: ns }),
    ).toBe(2);
  });

  it('a restarted watcher does not ask again before retryAt; after it, one retry per round', async () => {
    // A round whose retryAt leaves time to look (on a slow box the first may be almost due).
    let r = await record(missing());
    for (let i = 0; r && Date.parse(r.retryAt) - Date.now() < 8000 && i < 3; i++) {
      const n = r.failures;
      r = await waitFor(
        'the next round',
        async () => {
          const m = await record(missing());
          return m && m.failures > n ? m : undefined;
        },
        90_000,
      );
    }
    if (!r) throw new Error('no record');
    const before = await scannerFailures(r.code);
    await svc.restartWatcher();
    // Until just before retryAt, nothing is asked again: not by the restart, not by a resync.
    const quietUntil = Date.parse(r.retryAt) - 1000;
    while (Date.now() < quietUntil) await new Promise((res) => setTimeout(res, 500));
    expect(await scannerFailures(r.code)).toBe(before);
    expect((await record(missing()))?.failures).toBe(r.failures);
    expect(
      await metricValue(svc.watcher.registry, 'fleetscan_watcher_requests_total', {
        type: 'image',
        outcome: 'held',
      }),
    ).toBeGreaterThan(0);

    // After retryAt: one more round, counted once; the owner's one Event says how many.
    const n = r.failures;
    const again = await waitFor(
      'the next round',
      async () => {
        const m = await record(missing());
        return m && m.failures > n ? m : undefined;
      },
      60_000,
    );
    expect(again.failures).toBe(n + 1);
    const uid = await rsUid('missing');
    await waitFor('the Event to count the round', async () =>
      (await scanFailedEvents(k, ns, uid))[0]?.count === n + 1 ? true : undefined,
    );
    expect(await scanFailedEvents(k, ns, uid)).toHaveLength(1);
  });

  it('once the image exists, the retry writes its report, and the record and the gauge go', async () => {
    const code = (await record(missing()))?.code ?? '';
    await pushUniqueImage(stack(), testImages.clean, `library/missing-${run}`, '1', run);
    const rs = await currentReplicaSet(k, ns, 'missing');
    // The next retry is at most 60 s away (the cap), then a scan.
    const report = await waitReport(
      k,
      'VulnerabilityReport',
      ns,
      `replicaset-${rs.metadata?.name}-nginx`,
      150_000,
    );
    expect(report.metadata.annotations?.['fleetscan.io/scan-error']).toBeUndefined();
    await waitFor('the record to go', async () => ((await record(missing())) ? undefined : true));
    await waitFor('the gauge to go', async () => ((await failingGauge(code)) === 0 ? true : undefined));
    // The image still failing keeps its record and its gauge.
    expect(await record(unauthorized())).toBeDefined();
    expect(await failingGauge('UNAUTHORIZED')).toBe(1);
  });
});
