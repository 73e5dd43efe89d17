import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ignorePoliciesFrom } from './ignore-policies.ts';
import { createOwnerSettings } from './owner-settings.ts';
import { testOwner } from './testing/fake-cluster.ts';
import { createHarness, type Harness, START } from './testing/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.scheduler.stop();
  h = undefined;
});

const counter = async (hh: Harness, name: string, labels: Record<string, string> = {}) => {
  const m = (await hh.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((a, v) => a + v.value, 0);
};

/** Writes the reports the writer would for `o`: current for this scan config, DB and time. */
/** A digest as registries make them: request schemas refuse anything else. */
const digestOf = (image: string) => `sha256:${createHash('sha256').update(image).digest('hex')}`;

function answerOwner(hh: Harness, o: ReturnType<typeof testOwner>, extra: { dbUpdatedAt?: string } = {}) {
  hh.cluster.putReport(hh.cluster.configReport(o, hh.hashes.pluginConfigHash));
  for (const c of o.containers)
    hh.cluster.putReport(
      hh.cluster.vulnReport(o, c.name, {
        scanConfigHash: hh.hashes.scanConfigHash,
        updatedAtMs: hh.time.nowMs,
        artifact: { registry: 'r', repository: c.image, tag: '1', digest: digestOf(c.image) },
        ...extra,
      }),
    );
}

/** The first list done and every report current for DB db1 (nothing asked), then DB db2 arrives. */
async function settleThenNewDb(hh: Harness) {
  hh.scheduler.synced();
  hh.scheduler.dbVersion('db1');
  await hh.time.advance(60_000);
  expect(hh.jet.sent).toHaveLength(0);
  hh.scheduler.dbVersion('db2');
}

describe('watcher scheduler', () => {
  it('asks at once for owners without reports, one request per image and namespace', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns1', name: 'a', uid: 'ua', images: ['r/x:1', 'r/x2:1', 'r/x:1'] });
    const b = testOwner({ namespace: 'ns1', name: 'b', uid: 'ub', images: ['r/x:1'] });
    const c = testOwner({ namespace: 'ns2', name: 'c', uid: 'uc', images: ['r/x:1'] });
    for (const o of [a, b, c]) h.cluster.putOwner(o);
    await h.time.advance(1000);
    expect(h.jet.sent).toHaveLength(0); // nothing before the first list is complete
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.imageRequests().map((m) => `${m.body.namespace}/${m.body.image}`)).toEqual([
      'ns1/r/x:1',
      'ns1/r/x2:1',
      'ns2/r/x:1',
    ]);
    expect(h.configRequests().map((m) => (m.body.owner as { uid: string }).uid)).toEqual(['ua', 'ub', 'uc']);
    expect(await counter(h, 'fleetscan_watcher_requests_total', { type: 'image', outcome: 'pending' })).toBe(
      1,
    );
  });

  it('asks per namespace with its own ignore policy, and per part of a namespace a workload key splits off', async () => {
    h = createHarness({
      settings: createOwnerSettings({
        scanners: ['vuln'],
        settings: {},
        ignorePolicies: ignorePoliciesFrom({
          'trivy.ignorePolicy.shop': 'package trivy # shop',
          'trivy.ignorePolicy.shop.api-*': 'package trivy # api',
        }),
      }),
    });
    const owners = [
      testOwner({ namespace: 'shop', name: 'api-1', uid: 'u1', images: ['r/x:1'] }),
      testOwner({ namespace: 'shop', name: 'api-2', uid: 'u2', images: ['r/x:1'] }),
      testOwner({ namespace: 'shop', name: 'web-1', uid: 'u3', images: ['r/x:1'] }),
      testOwner({ namespace: 'other', name: 'api-1', uid: 'u4', images: ['r/x:1'] }),
    ];
    for (const o of owners) h.cluster.putOwner(o);
    h.scheduler.synced();
    await h.time.advance(50);
    const asked = h.imageRequests().map((m) => ({
      ns: m.body.namespace,
      filter: m.body.ownerFilter,
      policy: (m.body.settings as { ignorePolicy?: string }).ignorePolicy,
    }));
    expect(asked).toEqual([
      { ns: 'shop', filter: { names: ['api-*'] }, policy: 'package trivy # api' },
      { ns: 'shop', filter: { exceptNames: ['api-*'] }, policy: 'package trivy # shop' },
      { ns: 'other', filter: undefined, policy: undefined },
    ]);
  });

  it('asks for the first list’s backlog in the bulk lane, for what changes after it in the urgent lane', async () => {
    h = createHarness();
    const old = testOwner({ namespace: 'ns', name: 'old', uid: 'u-old', images: ['r/x:1'] });
    h.cluster.putOwner(old);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.configRequests('bulk').map((m) => m.subject)).toEqual(['fleetscan.scan.bulk.config.c1']);
    expect(h.imageRequests('bulk').map((m) => m.subject)).toEqual(['fleetscan.scan.bulk.image.c1']);
    expect(h.jet.sent.filter((m) => !m.subject.includes('.bulk.'))).toHaveLength(0);
    // Created while the watcher runs: urgent, for its config audit and its other image.
    const created = testOwner({ namespace: 'ns', name: 'new', uid: 'u-new', images: ['r/y:1'] });
    h.cluster.putOwner(created);
    await h.time.advance(50);
    expect(h.configRequests('urgent').map((m) => (m.body.owner as { uid: string }).uid)).toEqual(['u-new']);
    expect(h.imageRequests('urgent').map((m) => m.body.image)).toEqual(['r/y:1']);
    // A report deleted by hand: asked again, urgently.
    answerOwner(h, old);
    const report = h.cluster.vulnReport(old, 'c0', { scanConfigHash: h.hashes.scanConfigHash });
    h.cluster.deleteReport(report.kind, report.namespace, report.name);
    await h.time.advance(50);
    expect(h.imageRequests('urgent').map((m) => m.body.image)).toEqual(['r/y:1', 'r/x:1']);
    expect(
      await counter(h, 'fleetscan_watcher_requests_total', {
        type: 'config',
        outcome: 'published',
        lane: 'bulk',
      }),
    ).toBe(1);
  });

  it('asks urgently for an owner of the first list created after the watcher started (a new workload, not backlog)', async () => {
    // Seen in a cold start: a Deployment created as the services started was in the watcher's first
    // list, so it queued with the fleet's backlog (its ConfigAuditReport 3.0 s later, idle 0.1 s).
    h = createHarness();
    const withCreation = (name: string, createdAtMs: number) => {
      const o = testOwner({ namespace: 'ns', name, uid: `u-${name}`, images: [`r/${name}:1`] });
      return { ...o, workload: { ...o.workload, createdAtMs } } as typeof o;
    };
    h.cluster.putOwner(withCreation('old', START - 60_000));
    // creationTimestamp is whole seconds: one made in the watcher's first second reads as its start.
    h.cluster.putOwner(withCreation('fresh', START));
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.configRequests('urgent').map((m) => (m.body.owner as { uid: string }).uid)).toEqual(['u-fresh']);
    expect(h.imageRequests('urgent').map((m) => m.body.image)).toEqual(['r/fresh:1']);
    expect(h.configRequests('bulk').map((m) => (m.body.owner as { uid: string }).uid)).toEqual(['u-old']);
  });

  it('asks again urgently for an image a new owner shares with a backlog request still queued', async () => {
    h = createHarness();
    const backlog = testOwner({ namespace: 'ns', name: 'old', uid: 'u-old', images: ['r/x:1'] });
    h.cluster.putOwner(backlog);
    h.scheduler.synced();
    await h.time.advance(50);
    const [bulk] = h.imageRequests('bulk');
    // Seconds later, within the share window: without the urgent lane it would wait for the bulk one.
    await h.time.advance(5000);
    h.cluster.putOwner(testOwner({ namespace: 'ns', name: 'new', uid: 'u-new', images: ['r/x:1'] }));
    await h.time.advance(50);
    const [urgent] = h.imageRequests('urgent');
    expect(urgent?.body).toMatchObject({ namespace: 'ns', image: 'r/x:1' });
    // A new id: JetStream would drop the same one as a duplicate.
    expect(urgent?.msgID).not.toBe(bulk?.msgID);
    // A third owner meanwhile shares the urgent one.
    h.cluster.putOwner(testOwner({ namespace: 'ns', name: 'new2', uid: 'u-new2', images: ['r/x:1'] }));
    await h.time.advance(50);
    expect(h.imageRequests('urgent')).toHaveLength(1);
  });

  it('sends refreshes of existing reports in batches of REFRESH_BATCH_SIZE per interval', async () => {
    h = createHarness({ timing: { refresh: { batchSize: 2, intervalMs: 10_000 } } });
    const owners = [0, 1, 2, 3, 4].map((i) =>
      testOwner({ namespace: 'ns', name: `o${i}`, uid: `u${i}`, images: [`r/img${i}:1`] }),
    );
    for (const o of owners) {
      h.cluster.putOwner(o);
      answerOwner(h, o);
      // Scanned with other settings: a refresh, not urgent.
      const c = o.containers[0]?.name ?? '';
      h.cluster.putReport(
        h.cluster.vulnReport(o, c, {
          scanConfigHash: 'old',
          artifact: { registry: 'r', repository: 'img', tag: '1', digest: `sha256:d-${o.uid}` },
        }),
      );
    }
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.jet.sent).toHaveLength(0);
    expect(h.scheduler.held.refreshQueue).toBe(5);
    await h.time.advance(10_000);
    expect(h.imageRequests()).toHaveLength(2);
    await h.time.advance(10_000);
    expect(h.imageRequests()).toHaveLength(4);
    await h.time.advance(10_000);
    expect(h.imageRequests()).toHaveLength(5);
    // A settings refresh re-matches the report's digest: no pull. Refreshes are bulk.
    expect(h.imageRequests()[0]?.body).toMatchObject({ digest: 'sha256:d-u0' });
    expect(h.imageRequests('bulk')).toHaveLength(5);
    expect(await counter(h, 'fleetscan_watcher_refreshes_total', { type: 'image', reason: 'settings' })).toBe(
      5,
    );
  });

  it('asks again with a new id when a report is deleted, each time', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    answerOwner(h, a);
    h.scheduler.synced();
    await h.time.advance(60_000);
    expect(h.jet.sent).toHaveLength(0);
    const report = h.cluster.vulnReport(a, 'c0', { scanConfigHash: 'scan1' });
    for (let i = 0; i < 3; i++) {
      h.cluster.deleteReport(report.kind, report.namespace, report.name);
      await h.time.advance(1000);
      h.cluster.putReport({ ...report, updatedAtMs: h.time.nowMs });
      await h.time.advance(1000);
    }
    const ids = h.imageRequests().map((m) => m.msgID);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it('re-checks the other owners of an image after its report lands: 5, 10, 20, 40, 80 s apart', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    const b = testOwner({ namespace: 'ns', name: 'b', uid: 'ub', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    h.cluster.putOwner(b);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.imageRequests()).toHaveLength(1);
    // The writer's fan-out reached `a` only: it had not seen `b` yet.
    answerOwner(h, a);
    const landed = h.time.nowMs;
    const asks: number[] = [];
    for (let s = 0; s < 299; s++) {
      const before = h.imageRequests().length;
      await h.time.advance(1000);
      if (h.imageRequests().length > before) asks.push(Math.floor((h.time.nowMs - landed) / 1000));
    }
    expect(asks).toEqual([6, 16, 36, 76, 156]);
    const ids = h.imageRequests().map((m) => m.msgID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(h.scheduler.held.sharerRechecks).toBe(0);
  });

  it('stops re-checking once every owner of the image has its report', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    const b = testOwner({ namespace: 'ns', name: 'b', uid: 'ub', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    h.cluster.putOwner(b);
    h.scheduler.synced();
    await h.time.advance(50);
    answerOwner(h, a);
    await h.time.advance(6000);
    expect(h.imageRequests()).toHaveLength(2);
    answerOwner(h, b);
    await h.time.advance(250_000);
    expect(h.imageRequests()).toHaveLength(2);
    expect(h.scheduler.held.sharerRechecks).toBe(0);
  });

  it('a new trivy DB refreshes the reports matched against another one, by digest', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    const b = testOwner({ namespace: 'ns', name: 'b', uid: 'ub', images: ['r/x:1'] });
    for (const o of [a, b]) {
      h.cluster.putOwner(o);
      answerOwner(h, o, { dbUpdatedAt: 'db1' });
    }
    await settleThenNewDb(h);
    await h.time.advance(10_000);
    // One refresh for the image in the namespace, however many owners share it.
    expect(h.imageRequests().map((m) => m.body)).toMatchObject([
      { image: 'r/x:1', digest: digestOf('r/x:1') },
    ]);
    h.scheduler.dbVersion('db2');
    await h.time.advance(10_000);
    expect(h.imageRequests()).toHaveLength(1);
    expect(await counter(h, 'fleetscan_watcher_refreshes_total', { reason: 'db' })).toBe(1);
  });

  it('a new trivy DB refreshes one namespace of each image first, then the other namespaces', async () => {
    h = createHarness({ timing: { refresh: { batchSize: 1, intervalMs: 1_000 } } });
    // Every namespace runs both images; the owners of one image come first (as seen in a benchmark).
    for (const image of ['r/x:1', 'r/y:1'])
      for (const ns of ['n1', 'n2', 'n3']) {
        const o = testOwner({
          namespace: ns,
          name: image.slice(2, 3),
          uid: `${ns}-${image}`,
          images: [image],
        });
        h.cluster.putOwner(o);
        answerOwner(h, o, { dbUpdatedAt: 'db1' });
      }
    await settleThenNewDb(h);
    await h.time.advance(2_000);
    // Each digest is re-matched once at the scanners: the first two refreshes do all of that work.
    expect(new Set(h.imageRequests().map((m) => (m.body as { image: string }).image))).toEqual(
      new Set(['r/x:1', 'r/y:1']),
    );
    await h.time.advance(10_000);
    expect(h.imageRequests()).toHaveLength(6);
  });

  it('re-checks tags once per epoch and image in a namespace, without queueing an epoch twice', async () => {
    h = createHarness({
      timing: { tagRecheckMs: 3_600_000, refresh: { batchSize: 100, intervalMs: 10_000 } },
    });
    for (const [ns, name] of [
      ['ns1', 'a'],
      ['ns1', 'b'],
      ['ns2', 'c'],
    ] as const) {
      const o = testOwner({ namespace: ns, name, uid: `u${name}`, images: ['r/x:1'] });
      h.cluster.putOwner(o);
      answerOwner(h, o);
    }
    h.scheduler.synced();
    await h.time.advance(3_600_000 + 10_000);
    expect(h.imageRequests().map((m) => [m.body.namespace, m.body.digest])).toEqual([
      ['ns1', undefined],
      ['ns2', undefined],
    ]);
    await h.time.advance(3_600_000);
    expect(h.imageRequests()).toHaveLength(4);
    expect(await counter(h, 'fleetscan_watcher_refreshes_total', { reason: 'recheck' })).toBe(4);
  });

  it('a re-check still queued from the last epoch is not queued again', async () => {
    h = createHarness({ timing: { tagRecheckMs: 60_000, refresh: { batchSize: 1, intervalMs: 3_600_000 } } });
    for (const name of ['a', 'b', 'c']) {
      const o = testOwner({ namespace: 'ns', name, uid: `u${name}`, images: [`r/${name}:1`] });
      h.cluster.putOwner(o);
      answerOwner(h, o);
    }
    h.scheduler.synced();
    await h.time.advance(600_000);
    expect(h.scheduler.held.refreshQueue).toBe(3);
  });

  it('evaluates an owner again 2 s after its requests could not be published', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    h.jet.failNext(1);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.jet.sent).toHaveLength(0);
    expect(await counter(h, 'fleetscan_watcher_failures_total', { reason: 'publish' })).toBe(1);
    await h.time.advance(1900);
    expect(h.jet.sent).toHaveLength(0);
    await h.time.advance(200);
    expect(h.configRequests().map((m) => m.msgID)).toEqual([
      `${h.publisher.configKey('ua', a.specHash, 'plug1')}#0`,
    ]);
    expect(h.imageRequests()).toHaveLength(1);
  });

  it('re-evaluates every owner each resync', async () => {
    h = createHarness({ timing: { resyncMs: 300_000 } });
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    answerOwner(h, a);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(await counter(h, 'fleetscan_watcher_evaluations_total')).toBe(1);
    await h.time.advance(3 * 300_000);
    expect(await counter(h, 'fleetscan_watcher_evaluations_total')).toBe(4);
    // The report's TTL has not passed: nothing to ask.
    expect(h.jet.sent).toHaveLength(0);
  });

  it('refreshes a report past its TTL, with notBefore at its expiry', async () => {
    h = createHarness({ timing: { resyncMs: 60_000 } });
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    h.cluster.putReport(h.cluster.configReport(a, 'plug1'));
    h.cluster.putReport(
      h.cluster.vulnReport(a, 'c0', { scanConfigHash: 'scan1', updatedAtMs: START, ttlSeconds: 3600 }),
    );
    h.scheduler.synced();
    // The resync at 1 h finds it expired; the next refresh batch, 10 s later, sends it.
    await h.time.advance(3_600_000 + 15_000);
    expect(h.imageRequests().map((m) => m.body)).toMatchObject([
      { image: 'r/x:1', notBefore: new Date(START + 3_600_000).toISOString() },
    ]);
  });

  it('forgets the requests of owners that are gone', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    h.cluster.putOwner(a);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.publisher.remembered.size).toBe(2);
    h.cluster.deleteOwner('ReplicaSet/ns/a');
    await h.time.advance(150_000);
    expect(h.publisher.remembered.size).toBe(0);
    expect(await counter(h, 'fleetscan_watcher_requests_forgotten_total', { reason: 'gone' })).toBe(2);
  });

  it('stops every timer it started', async () => {
    const hh = createHarness({ timing: { tagRecheckMs: 60_000 } });
    const a = testOwner({ namespace: 'ns', name: 'a', uid: 'ua', images: ['r/x:1'] });
    const b = testOwner({ namespace: 'ns', name: 'b', uid: 'ub', images: ['r/x:1'] });
    hh.cluster.putOwner(a);
    hh.cluster.putOwner(b);
    hh.scheduler.synced();
    await hh.time.advance(50);
    answerOwner(hh, a);
    hh.jet.failNext(1);
    hh.cluster.putOwner({ ...b, specHash: 'changed' });
    await hh.time.advance(60);
    expect(hh.scheduler.held.sharerRechecks).toBe(1);
    expect(hh.scheduler.held.publishRetries).toBe(1);
    await hh.scheduler.stop();
    expect(hh.time.timers).toBe(0);
  });
});

describe('watcher scheduler: images whose scans fail', () => {
  it('holds requests until the record’s retryAt (the resync too), then asks once, in the bulk lane, with a new id per round', async () => {
    h = createHarness();
    const a = testOwner({ namespace: 'ns1', name: 'a', uid: 'ua', images: ['r/gone:1'] });
    const b = testOwner({ namespace: 'ns1', name: 'b', uid: 'ub', images: ['r/gone:1'] });
    h.cluster.putOwner(a);
    h.scheduler.synced();
    await h.time.advance(50);
    expect(h.imageRequests()).toHaveLength(1);
    const first = h.imageRequests()[0]?.msgID;

    // The scan failed; the writer recorded it, with its retry time two minutes on.
    h.setFailure('ns1', 'r/gone:1', { failures: 1, retryAt: new Date(h.time.nowMs + 120_000).toISOString() });
    h.cluster.putOwner(b); // a new owner of the image, urgent
    await h.time.advance(50);
    await h.time.advance(110_000); // a resync came and went meanwhile? not yet (300 s), but passes ran
    expect(h.imageRequests()).toHaveLength(1);
    expect(
      await counter(h, 'fleetscan_watcher_requests_total', { type: 'image', outcome: 'held' }),
    ).toBeGreaterThan(0);
    expect(h.holds.held).toBe(1);

    // retryAt passes: the owners are evaluated again by the hold's one timer, and ask once, in bulk.
    await h.time.advance(10_100);
    expect(h.imageRequests()).toHaveLength(2);
    const retry = h.imageRequests()[1];
    expect(retry?.subject).toBe('fleetscan.scan.bulk.image.c1');
    expect(retry?.msgID).not.toBe(first);
    expect(h.holds.held).toBe(0);

    // Failed again (round 2, later retryAt): held through resyncs, then a third id.
    h.setFailure('ns1', 'r/gone:1', { failures: 2, retryAt: new Date(h.time.nowMs + 600_000).toISOString() });
    await h.time.advance(590_000);
    expect(h.imageRequests()).toHaveLength(2);
    await h.time.advance(10_100);
    expect(h.imageRequests()).toHaveLength(3);
    expect(new Set(h.imageRequests().map((m) => m.msgID)).size).toBe(3);

    // The scan succeeded: the record is gone and the report is there; nothing more is asked.
    h.setFailure('ns1', 'r/gone:1', undefined);
    answerOwner(h, a);
    answerOwner(h, b);
    await h.time.advance(900_000);
    expect(h.imageRequests()).toHaveLength(3);
  });

  it('asks again at the retryAt of a record just written, without waiting for a resync', async () => {
    h = createHarness();
    h.cluster.putOwner(testOwner({ namespace: 'ns1', name: 'a', uid: 'ua', images: ['r/gone:1'] }));
    h.scheduler.synced();
    await h.time.advance(50);
    h.setFailure('ns1', 'r/gone:1', { retryAt: new Date(h.time.nowMs + 45_000).toISOString() });
    await h.time.advance(44_000);
    expect(h.imageRequests()).toHaveLength(1);
    await h.time.advance(1_100);
    expect(h.imageRequests()).toHaveLength(2);
    expect(h.imageRequests()[1]?.body.image).toBe('r/gone:1');
  });

  it('a resync does not ask again for an image whose request is still being answered', async () => {
    h = createHarness();
    h.cluster.putOwner(testOwner({ namespace: 'ns1', name: 'a', uid: 'ua', images: ['r/slow:1'] }));
    h.scheduler.synced();
    await h.time.advance(50);
    // Two resyncs inside REQUEST_RETRY_SECONDS (600 s): no second chain for the same image.
    await h.time.advance(599_000);
    expect(h.imageRequests()).toHaveLength(1);
    // Past it, the unanswered request is asked again (its answer was lost).
    await h.time.advance(301_000);
    expect(h.imageRequests()).toHaveLength(2);
  });
});
