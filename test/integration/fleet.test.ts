import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { probeServerTimes } from '@fleetscan/bench';
import {
  BLOB_BUCKET,
  encode,
  ensureStreams,
  failuresBucket,
  type Identity,
  type ImageScanRequest,
  ImageScanRequestSchema,
  ImageScanResultSchema,
  inboxPrefix,
  manifestsBucket,
  resultsBucket,
  STATE_BUCKET,
  STATE_KEY_TRIVY_DB,
  STREAM_DEAD,
  STREAM_FLEET,
  STREAM_RESULTS,
  STREAM_SCAN,
  subjects,
  writerConsumer,
} from '@fleetscan/bus';
import { loadConfig as fleetviewConfig, startFleetview } from '@fleetscan/fleetview';
import { createLogger } from '@fleetscan/service';
import { natsConnectOptions, natsEnv, type Stack, startStack, testImages } from '@fleetscan/stack';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushUniqueImage } from '../support/images.ts';
import {
  type AnyReport,
  currentReplicaSet,
  deployment,
  type Kube,
  kubeFor,
  listReports,
  waitReport,
} from '../support/kube.ts';
import { metricValue, type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// Two clusters on one 3-node NATS JetStream cluster (replicas 3) and one scanner fleet, each
// service with its own NATS identity: the fleet's own stack, started here.

const run = Math.random().toString(36).slice(2, 7);
let stack: Stack;
const kube: Record<'a' | 'b', Kube> = {} as Record<'a' | 'b', Kube>;
const svc: Record<'a' | 'b', Services> = {} as Record<'a' | 'b', Services>;
const ns = { a: `fleet-a-${run}`, b: `fleet-b-${run}` };
let admin: NatsConnection;
const opened: NatsConnection[] = [];

let shared = '';
let onlyA = '';
let onlyB = '';

const unique = (repo: string, tag: string) => pushUniqueImage(stack, testImages.clean, repo, tag, run);
const scanners = () => [...svc.a.scanners, ...svc.b.scanners];
const scannerSum = async (name: string, labels: Record<string, string> = {}) =>
  (await Promise.all(scanners().map((s) => metricValue(s.registry, name, labels)))).reduce(
    (a, b) => a + b,
    0,
  );

async function vulnReportOf(c: 'a' | 'b', name: string): Promise<AnyReport> {
  const rs = await currentReplicaSet(kube[c], ns[c], name);
  return waitReport(kube[c], 'VulnerabilityReport', ns[c], `replicaset-${rs.metadata?.name}-nginx`, 120_000);
}

const repoOf = (r: AnyReport) => (r.report.artifact as { repository?: string } | undefined)?.repository;

async function as(identity: Identity): Promise<NatsConnection> {
  const nc = await connect({ ...natsConnectOptions(stack, identity), reconnect: false });
  opened.push(nc);
  return nc;
}

beforeAll(async () => {
  stack = await startStack({ clusters: 2, natsNodes: 3, auditNamespaces: [ns.a] });
  for (const c of ['a', 'b'] as const) {
    const info = stack.clusters.find((x) => x.name === c);
    if (!info) throw new Error(`no cluster ${c}`);
    kube[c] = kubeFor(info.kubeconfigPath);
    await kube[c].core.createNamespace({ body: { metadata: { name: ns[c] } } });
  }
  admin = await connect(natsConnectOptions(stack));
  [shared, onlyA, onlyB] = await Promise.all([
    unique('library/shared', 'v1'),
    unique('team-a/app', 'v1'),
    unique('team-b/app', 'v1'),
  ]);
  // One scanner fleet of two replicas (started with a's services), serving both clusters.
  const info = stack.info();
  svc.a = await startServices(info, 'a', {}, { scanners: 2 });
  svc.b = await startServices(info, 'b', {}, { scanners: 0 });
}, 400_000);

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => {});
  await admin?.close();
  await svc.a?.stop();
  await svc.b?.stop();
  await stack?.stop();
}, 120_000);

describe('two clusters, one scanner fleet, a 3-node NATS', () => {
  it('gives every stream, bucket and object store 3 replicas', async () => {
    const jsm = await jetstreamManager(admin);
    for (const s of [STREAM_SCAN, STREAM_RESULTS, STREAM_DEAD, `OBJ_${BLOB_BUCKET}`, `KV_${STATE_BUCKET}`]) {
      expect((await jsm.streams.info(s)).config.num_replicas, s).toBe(3);
    }
  });

  it('analyses the shared digest once for both clusters, and writes every owner its reports', async () => {
    await Promise.all([
      kube.a.apps.createNamespacedDeployment({ namespace: ns.a, body: deployment('shared', shared) }),
      kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('shared', shared) }),
      kube.a.apps.createNamespacedDeployment({ namespace: ns.a, body: deployment('own', onlyA) }),
      kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('own', onlyB) }),
    ]);
    const reports = await Promise.all([
      vulnReportOf('a', 'shared'),
      vulnReportOf('b', 'shared'),
      vulnReportOf('a', 'own'),
      vulnReportOf('b', 'own'),
    ]);
    expect(reports.map((r) => repoOf(r))).toEqual([
      'library/shared',
      'library/shared',
      'team-a/app',
      'team-b/app',
    ]);
    // Three digests, three analyses: the shared one once for both clusters.
    expect(await scannerSum('fleetscan_scanner_trivy_runs_total', { type: 'image' })).toBe(3);
    for (const c of ['a', 'b']) {
      expect(
        await scannerSum('fleetscan_scanner_requests_total', { type: 'image', cluster: c }),
        `image requests of ${c}`,
      ).toBeGreaterThanOrEqual(2);
    }
    for (const c of ['a', 'b'] as const) {
      await waitFor(`config audit reports in ${c}`, async () =>
        (await listReports(kube[c], 'ConfigAuditReport', ns[c])).length >= 2 ? true : undefined,
      );
      // Its watcher reads the fleet's DB version with its own identity.
      const watcher = svc[c].watcher.registry;
      expect(
        await metricValue(watcher, 'fleetscan_watcher_failures_total', { reason: 'fleet_db_read' }),
      ).toBe(0);
    }
  });

  it("logs the writes of a's audited namespace, which take a new Deployment's latency apart (probe-audit.ts)", async () => {
    const log = stack.clusters.find((c) => c.name === 'a')?.auditLog;
    expect(log, "cluster a's audit log").toBeDefined();
    expect(stack.clusters.find((c) => c.name === 'b')?.auditLog).toBeDefined();
    const [t] = probeServerTimes((await readFile(log as string, 'utf8')).split('\n'), {
      namespace: ns.a,
      probes: ['shared'],
      reportResources: ['configauditreports', 'vulnerabilityreports'],
    });
    // The Deployment, its ReplicaSet and both reports' writes, in order, on the API server's clock.
    expect(t?.probe).toBe('shared');
    expect(t?.ownerMs).toBeGreaterThan(0);
    expect(t?.fleetscanMs).toBeGreaterThan(0);
    expect(t?.writeMs).toBeGreaterThan(0);
    expect(t?.last).toMatch(/^(configauditreports|vulnerabilityreports)\/replicaset-shared-/);
  });

  it('shows nothing of cluster a in b: reports, results, log lines', async () => {
    const inB = JSON.stringify([
      ...(await listReports(kube.b, 'VulnerabilityReport', ns.b)),
      ...(await listReports(kube.b, 'ConfigAuditReport', ns.b)),
    ]);
    const logs = await Promise.all(
      ['watcher-b', 'writer-b'].map((f) => readFile(join(stack.dir, `${f}.log`), 'utf8')),
    );
    for (const text of [inB, ...logs]) {
      expect(text).not.toContain(ns.a);
      expect(text).not.toContain('team-a/app');
    }
    // Every result b's writer consumed was b's.
    const writerB = svc.b.writer.registry;
    expect(await metricValue(writerB, 'fleetscan_writer_results_total', { outcome: 'invalid' })).toBe(0);
  });
});

describe('isolation: the server refuses what a cluster may not do', () => {
  const refused = async (what: string, p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `${what} was allowed`).toBeInstanceOf(Error);
    expect(String((err as Error).message), what).toMatch(/permissions violation/i);
  };

  it("lets a's watcher count its requests still queued in the scan stream (queue-view.ts)", async () => {
    const watcherA = await as({ role: 'watcher', cluster: 'a' });
    const jsm = await jetstream(watcherA).jetstreamManager(false);
    for (const lane of ['urgent', 'bulk'] as const) {
      const info = await jsm.streams.info(STREAM_SCAN, { subjects_filter: subjects.scansFrom('a', lane) });
      expect(info.config.name).toBe(STREAM_SCAN);
    }
  });

  it("refuses a's watcher and writer b's subjects, b's consumer, the blob store and the KV buckets", async () => {
    const watcherA = await as({ role: 'watcher', cluster: 'a' });
    const writerA = await as({ role: 'writer', cluster: 'a' });
    const now = new Date().toISOString();
    const body = encode(ImageScanResultSchema, {
      v: 1,
      cluster: 'b',
      image: onlyB,
      namespace: ns.b,
      scanConfigHash: 'x',
      status: 'ok',
      cached: false,
      finishedAt: now,
    });
    for (const [who, nc] of [
      ['watcher-a', watcherA],
      ['writer-a', writerA],
    ] as const) {
      const js = jetstream(nc);
      await refused(`${who} publishes b's scan request`, js.publish(subjects.scanImage('b'), body));
      await refused(`${who} publishes a result for b`, js.publish(subjects.resultImage('b'), body));
      await refused(`${who} publishes a result for a`, js.publish(subjects.resultImage('a'), body));
      await refused(
        `${who} binds b's writer consumer`,
        js.consumers.get(STREAM_RESULTS, writerConsumer('b')),
      );
      await refused(`${who} writes the blob store`, js.publish(`$O.${BLOB_BUCKET}.C.forged`, body));
      await refused(`${who} opens the blob store`, new Objm(js).open(BLOB_BUCKET));
      await refused(`${who} writes the fleet state`, js.publish(`$KV.${STATE_BUCKET}.trivy-db`, body));
      await refused(`${who} takes a scan lock`, js.publish('$KV.fleetscan-scan-locks.x', body));
      await refused(`${who} keeps b's dead letters`, js.publish(subjects.dead(writerConsumer('b')), body));
      await refused(`${who} keeps the scanners' dead letters`, js.publish(subjects.dead('scan-image'), body));
      await refused(
        `${who} reads b's results bucket with a direct get`,
        nc.request(`$JS.API.DIRECT.GET.OBJ_${resultsBucket('b')}`, JSON.stringify({ seq: 1 })),
      );
      const sub = nc.subscribe(subjects.resultsFor('b'));
      const closed = await Promise.race([
        sub.closed,
        new Promise((r) => setTimeout(() => r('still open'), 10_000)),
      ]);
      expect(String(closed), `${who} subscribes to b's results`).toMatch(/permissions violation/i);
    }
  });

  it("refuses a's watcher and the fleet view any consumer, so none can push into b's subjects", async () => {
    // Permissions see a consumer create's subject (stream, name, filter), not its body, which may ask
    // for push delivery to any subject: the server would then publish there on the account's behalf,
    // into FLEETSCAN_RESULTS while someone subscribes to b's results. So neither identity may create
    // a consumer at all: the watcher reads the DB version, the fleet view the fleet stream, with
    // direct gets (their working is checked below, "without consumers").
    const attempts: [string, NatsConnection, string, string][] = [
      [
        'watcher-a',
        await as({ role: 'watcher', cluster: 'a' }),
        `KV_${STATE_BUCKET}`,
        `$KV.${STATE_BUCKET}.${STATE_KEY_TRIVY_DB}`,
      ],
      // Its cluster's failures bucket (made by writer-a at its start), read with direct gets too.
      [
        'watcher-a',
        await as({ role: 'watcher', cluster: 'a' }),
        `KV_${failuresBucket('a')}`,
        `$KV.${failuresBucket('a')}.>`,
      ],
      ['fleetview', await as({ role: 'fleetview' }), STREAM_FLEET, subjects.allFindings],
    ];
    for (const [who, nc, stream, filter] of attempts) {
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      const push = {
        filter_subject: filter,
        deliver_subject: subjects.resultImage('b'),
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
      };
      // Named with its filter (the create subject carries both), durable, and with no name at all.
      await refused(
        `${who} creates a push consumer on ${stream}`,
        jsm.consumers.add(stream, { ...push, name: `push-${who}-${run}` }),
      );
      await refused(
        `${who} creates a durable push consumer on ${stream}`,
        jsm.consumers.add(stream, { ...push, durable_name: `push-d-${who}-${run}` }),
      );
      await refused(`${who} creates an unnamed push consumer on ${stream}`, jsm.consumers.add(stream, push));
      // What a KV watch creates (an ordered push consumer to the identity's own inbox).
      await refused(
        `${who} creates an ordered push consumer on ${stream}`,
        jetstream(nc).consumers.getPushConsumer(stream, { filter_subjects: [filter] }),
      );
    }
    const jsm = await jetstreamManager(admin);
    for (const [who, , stream] of attempts) {
      const names = (await jsm.consumers.list(stream).next()).map((c) => c.name);
      expect(
        names.filter((n) => n.includes(who)),
        `consumers ${who} left on ${stream}`,
      ).toEqual([]);
    }
  });

  it("refuses a's watcher and writer every stream and consumer create: the scanners provision a's resources", async () => {
    // Permissions see a create's subject, not its body: an identity allowed to create its own
    // stream could give it any subjects — b's writer's inbox, where its pulled results arrive — and
    // read them with the gets it has on that stream; one allowed a consumer create could ask for
    // push delivery anywhere. So neither may create or change a stream or a consumer: each asks the
    // scanners on fleetscan.provision.<its cluster> (only its own).
    const jsmAdmin = await jetstreamManager(admin);
    const foreignSubjects = [`${inboxPrefix({ role: 'writer', cluster: 'b' })}.>`];
    const leaks: string[] = [];
    // What a create that got through captured in a few seconds, read back by the identity itself
    // with its message get on that stream (the probe's finding), then removed.
    const captured = async (stream: string, jsm: JetStreamManager) => {
      const seen = await waitFor(
        `${stream} to capture b's inbox`,
        async () => ((await jsmAdmin.streams.info(stream)).state.messages > 0 ? true : undefined),
        15_000,
      ).catch(() => false);
      if (seen) {
        const m = await jsm.streams.getMessage(stream, { seq: 1 }).catch((e: unknown) => e as Error);
        leaks.push(
          `${stream} captured ${m instanceof Error ? `(not readable: ${m.message})` : `${m?.subject}: ${m?.string().slice(0, 120)}`}`,
        );
      }
      await jsmAdmin.streams.delete(stream).catch(() => {});
    };
    const rejects = async (what: string, p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => new Error(`${what} was allowed`),
        (e: unknown) => e,
      );
    for (const who of ['watcher', 'writer'] as const) {
      const nc = await as({ role: who, cluster: 'a' });
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      for (const stream of [`OBJ_${manifestsBucket('a')}`, `KV_${failuresBucket('a')}`]) {
        const existed = await jsmAdmin.streams.info(stream).then(
          () => true,
          () => false,
        );
        const cfg = { name: stream, subjects: foreignSubjects, storage: StorageType.Memory };
        const create = await rejects(`${who}-a creates ${stream}`, jsm.streams.add(cfg));
        const allowed = create instanceof Error && /was allowed/.test(create.message);
        if (allowed && !existed) await captured(stream, jsm);
        expect(String((create as Error).message), `${who}-a creates ${stream} (${leaks.join('; ')})`).toMatch(
          /permissions violation/i,
        );
        await refused(`${who}-a updates ${stream}`, jsm.streams.update(stream, cfg));
        await refused(`${who}-a deletes ${stream}`, jsm.streams.delete(stream));
      }
      // A consumer with push delivery, on each stream the identity uses, with the names and filters
      // its rights named before.
      const pushTo = { deliver_subject: subjects.scanImage('b'), ack_policy: AckPolicy.None };
      for (const [stream, cfg] of [
        [STREAM_RESULTS, { durable_name: writerConsumer('a'), filter_subject: subjects.resultsFor('a') }],
        [
          STREAM_RESULTS,
          { durable_name: writerConsumer('a', 'bulk'), filter_subject: subjects.resultsFor('a', 'bulk') },
        ],
        [
          `KV_${failuresBucket('a')}`,
          { name: `push-${who}-${run}`, filter_subject: `$KV.${failuresBucket('a')}.>` },
        ],
        [`KV_${failuresBucket('a')}`, { durable_name: `push-d-${who}-${run}` }],
      ] as const) {
        const err = await rejects(
          `${who}-a creates a push consumer on ${stream}`,
          jsm.consumers.add(stream, { ...pushTo, ...cfg }),
        );
        const names = (await jsmAdmin.consumers.list(stream).next()).map((c) => c.name);
        for (const n of names.filter((x) => x.includes(`-${who}-${run}`))) {
          await jsmAdmin.consumers.delete(stream, n).catch(() => {});
        }
        expect(String((err as Error).message), `${who}-a creates a push consumer on ${stream}`).toMatch(
          /permissions violation/i,
        );
      }
      await refused(
        `${who}-a creates an ordered push consumer on its failures bucket`,
        jetstream(nc).consumers.getPushConsumer(`KV_${failuresBucket('a')}`),
      );
      // Its own cluster's provisioning only.
      await refused(
        `${who}-a asks to provision b`,
        nc.request('fleetscan.provision.b', '', { timeout: 10_000 }),
      );
      const ok = await nc.request('fleetscan.provision.a', '', { timeout: 30_000 });
      expect(JSON.parse(ok.string()), `${who}-a provisions a`).toEqual({ ok: true });
    }
    expect(leaks).toEqual([]);
    // What the scanners provisioned for a: the writer's consumers are pull consumers.
    for (const lane of ['urgent', 'bulk'] as const) {
      const info = await jsmAdmin.consumers.info(STREAM_RESULTS, writerConsumer('a', lane));
      expect(info.config.deliver_subject, writerConsumer('a', lane)).toBeUndefined();
    }
    expect((await jsmAdmin.streams.info(`KV_${failuresBucket('a')}`)).config.subjects).toEqual([
      `$KV.${failuresBucket('a')}.>`,
    ]);
  });

  it('a forged result or request from a cannot make a report appear, or change, in b', async () => {
    // Every result published for b while the forged request is handled. Counting the deliveries of
    // b's writer consumer instead was racy: b's late, legitimate config-audit results (its namespace's
    // ConfigMap, ServiceAccount…) may land in the same window (CI saw 6 → 8).
    const seen: string[] = [];
    const watch = [subjects.resultsFor('b'), subjects.resultsFor('b', 'bulk')].map((s) =>
      admin.subscribe(s, {
        callback: (_e, m) => {
          seen.push(m.string());
        },
      }),
    );
    await admin.flush();
    const invalidBefore = await scannerSum('fleetscan_scanner_requests_total', {
      type: 'image',
      outcome: 'invalid',
      cluster: 'a',
    });
    // a's watcher may publish on its own subject only; a request naming b there is poison to the
    // scanners, which would otherwise publish its result to b (with a digest a chose).
    const forged: ImageScanRequest = {
      v: 1,
      cluster: 'b',
      image: onlyB,
      namespace: ns.b,
      digest: stack.images[0]?.digest ?? 'sha256:0',
      scanners: ['vuln'],
      settings: {},
      scanConfigHash: 'forged',
      requestedAt: new Date().toISOString(),
    };
    const watcherA = await as({ role: 'watcher', cluster: 'a' });
    await jetstream(watcherA).publish(subjects.scanImage('a'), encode(ImageScanRequestSchema, forged));
    await waitFor('the scanners to reject the forged request', async () =>
      (await scannerSum('fleetscan_scanner_requests_total', {
        type: 'image',
        outcome: 'invalid',
        cluster: 'a',
      })) > invalidBefore
        ? true
        : undefined,
    );
    // A result would follow the rejection at once; give a wrong publish a moment to show.
    await new Promise((r) => setTimeout(r, 2_000));
    await admin.flush();
    for (const sub of watch) sub.unsubscribe();
    const forgedResults = seen.filter(
      (body) => (JSON.parse(body) as { scanConfigHash?: string }).scanConfigHash === 'forged',
    );
    expect(forgedResults).toEqual([]);
    const report = await vulnReportOf('b', 'own');
    expect(report.metadata.annotations?.['fleetscan.io/scan-config-hash']).not.toBe('forged');
  });
});

describe('one writer stopped for a while', () => {
  it("keeps b's results in JetStream until b's writer is back; a is unaffected", async () => {
    const jsm = await jetstreamManager(admin);
    const [imgA, imgB] = await Promise.all([unique('team-a/late', 'v1'), unique('team-b/late', 'v1')]);
    await svc.b.restartWriter({
      pauseWhile: async () => {
        await kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('late', imgB) });
        await kube.a.apps.createNamespacedDeployment({ namespace: ns.a, body: deployment('late', imgA) });
        await vulnReportOf('a', 'late');
        await waitFor("b's results waiting in its consumer", async () => {
          const i = await jsm.consumers.info(STREAM_RESULTS, writerConsumer('b'));
          return i.num_pending >= 2 ? i.num_pending : undefined;
        });
      },
    });
    const report = await vulnReportOf('b', 'late');
    expect(repoOf(report)).toBe('team-b/late');
  });
});

describe('a cluster resource deleted while its writer runs', () => {
  it("b's writer asks the scanners again for its deleted consumer, and its results still arrive", async () => {
    const jsm = await jetstreamManager(admin);
    await jsm.consumers.delete(STREAM_RESULTS, writerConsumer('b', 'bulk'));
    await waitFor(`${writerConsumer('b', 'bulk')} made again by the scanners`, async () =>
      (await jsm.consumers.info(STREAM_RESULTS, writerConsumer('b', 'bulk')).catch(() => undefined))
        ? true
        : undefined,
    );
    const info = await jsm.consumers.info(STREAM_RESULTS, writerConsumer('b', 'bulk'));
    expect(info.config.deliver_subject).toBeUndefined();
    expect(info.config.filter_subject).toBe(subjects.resultsFor('b', 'bulk'));
    // And b's writer pulls from it again (its pull requests wait on the new consumer).
    await waitFor("b's bulk consumer to be pulled from again", async () =>
      (await jsm.consumers.info(STREAM_RESULTS, writerConsumer('b', 'bulk'))).num_waiting > 0
        ? true
        : undefined,
    );
    // Counted once per episode, by the resource found missing.
    expect(
      await metricValue(svc.b.writer.registry, 'fleetscan_writer_reprovisions_total', {
        resource: 'consumer',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('losing a NATS node', () => {
  it('SIGKILL of the streams leader while scans and writes are in flight: every report arrives once', async () => {
    const jsm = await jetstreamManager(admin);
    const leader = (await jsm.streams.info(STREAM_SCAN)).cluster?.leader;
    const victim = stack.natsCluster.nodes.find((n) => n.name === leader);
    if (!victim) throw new Error(`no node named ${leader}`);
    const images = await Promise.all(
      ['n1', 'n2', 'n3'].flatMap((t) => [unique('team-a/loss', t), unique('team-b/loss', t)]),
    );
    const work = (['a', 'b'] as const).flatMap((c, ci) =>
      [0, 1, 2].map((i) => ({ c, name: `loss-${i}`, image: images[i * 2 + ci] ?? '' })),
    );
    for (const w of work) {
      await kube[w.c].apps.createNamespacedDeployment({
        namespace: ns[w.c],
        body: deployment(w.name, w.image),
      });
    }
    // Some requests are on the bus, none answered yet: the leader goes.
    await waitFor('requests on the bus', async () =>
      (await jsm.streams.info(STREAM_SCAN)).state.messages > 0 ? true : undefined,
    );
    process.kill(victim.process.pid, 'SIGKILL');
    await victim.process.exited;
    const reports = await Promise.all(work.map((w) => vulnReportOf(w.c, w.name)));
    expect(reports.map((r) => repoOf(r))).toEqual(
      work.map((w) => (w.c === 'a' ? 'team-a/loss' : 'team-b/loss')),
    );
    // Restarted, the node catches up with the streams' state.
    const back = await stack.natsCluster.restartNode(victim.name);
    const lastSeq = async (monitorUrl: string, stream: string) => {
      const jsz = (await (await fetch(`${monitorUrl}/jsz?acc=FLEETSCAN&streams=true`)).json()) as {
        account_details?: { stream_detail?: { name: string; state: { last_seq: number } }[] }[];
      };
      return jsz.account_details?.[0]?.stream_detail?.find((s) => s.name === stream)?.state.last_seq;
    };
    for (const s of [STREAM_SCAN, STREAM_RESULTS]) {
      const want = (await jsm.streams.info(s)).state.last_seq;
      // Work goes on meanwhile: caught up is holding at least what the leader held a moment ago.
      await waitFor(`${victim.name} to catch up on ${s}`, async () =>
        ((await lastSeq(back.monitorUrl, s)) ?? -1) >= want ? true : undefined,
      );
    }
    // None duplicated: one VulnerabilityReport per owner and container, in each cluster.
    for (const c of ['a', 'b'] as const) {
      const all = await listReports(kube[c], 'VulnerabilityReport', ns[c]);
      const owners = all.map((r) => `${r.metadata.labels?.['trivy-operator.resource.name']}`);
      expect(new Set(owners).size, `one report per owner in ${c}`).toBe(owners.length);
    }
    // The services came back by themselves.
    for (const s of [svc.a.watcher, svc.a.writer, svc.b.watcher, svc.b.writer, ...scanners()]) {
      await waitFor('a service ready again', async () =>
        (await fetch(`http://127.0.0.1:${s.metricsPort}/readyz`)).ok ? true : undefined,
      );
    }
  });
});

describe('the watchers and the fleet view, without consumers', () => {
  it('the watchers notice a new fleet DB version, read with direct gets', async () => {
    const state = await new Kvm(jetstream(admin)).open(STATE_BUCKET);
    const e = await state.get(STATE_KEY_TRIVY_DB);
    const stackDb = e?.operation === 'PUT' ? e.string() : undefined;
    const next = '2099-01-01T00:00:00Z';
    const noticed = async (c: 'a' | 'b') =>
      (await readFile(join(stack.dir, `watcher-${c}.log`), 'utf8'))
        .split('\n')
        .some((l) => l.includes('trivy DB version changed') && l.includes(`"to":"${next}"`));
    expect(await noticed('a')).toBe(false);
    // Counted from here: the node loss before this test may have failed a read or two (retried).
    const failures = (c: 'a' | 'b') =>
      metricValue(svc[c].watcher.registry, 'fleetscan_watcher_failures_total', { reason: 'fleet_db_read' });
    const before = { a: await failures('a'), b: await failures('b') };
    await state.put(STATE_KEY_TRIVY_DB, next);
    try {
      for (const c of ['a', 'b'] as const) {
        await waitFor(`watcher-${c} to notice DB ${next}`, async () =>
          (await noticed(c)) ? true : undefined,
        );
        expect(await failures(c)).toBe(before[c]);
      }
    } finally {
      if (stackDb) await state.put(STATE_KEY_TRIVY_DB, stackDb);
    }
  });

  it('the fleet view reads both clusters from the stream’s start, then follows it, with direct gets', async () => {
    // A fleet stream made before direct gets were allowed on it gets them from the scanners'
    // topology (ensureStreams at their start updates an existing stream).
    const jsm = await jetstreamManager(admin);
    const cfg = (await jsm.streams.info(STREAM_FLEET)).config;
    await jsm.streams.update(STREAM_FLEET, { ...cfg, allow_direct: false });
    expect((await jsm.streams.info(STREAM_FLEET)).config.allow_direct).toBe(false);
    await ensureStreams(jsm, { replicas: stack.natsCluster.replicas });
    expect((await jsm.streams.info(STREAM_FLEET)).config.allow_direct).toBe(true);
    const view = await startFleetview({
      config: fleetviewConfig({
        ...natsEnv(stack.info(), { role: 'fleetview' }),
        API_PORT: '0',
        METRICS_PORT: '0',
      }),
      logger: createLogger({
        service: 'fleetview',
        level: 'debug',
        destination: createWriteStream(join(stack.dir, 'fleetview.log'), { flags: 'a' }),
      }),
    });
    try {
      await view.caughtUp;
      const owners = async () => {
        const res = await fetch(`http://127.0.0.1:${view.apiPort}/v1/clusters`);
        const body = (await res.json()) as { items: { cluster: string; owners: number }[] };
        return Object.fromEntries(body.items.map((i) => [i.cluster, i.owners]));
      };
      const first = await owners();
      // Each cluster's ReplicaSets of this file's Deployments at least (shared, own, late, 3 × loss).
      expect(first.a, JSON.stringify(first)).toBeGreaterThanOrEqual(6);
      expect(first.b, JSON.stringify(first)).toBeGreaterThanOrEqual(6);
      const image = await unique('team-b/viewed', 'v1');
      await kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('viewed', image) });
      await waitFor("the fleet view to see b's new owner", async () =>
        ((await owners()).b ?? 0) > (first.b ?? 0) ? true : undefined,
      );
      expect(
        await metricValue(view.registry, 'fleetscan_fleetview_messages_total', { kind: 'inventory' }),
      ).toBeGreaterThan(0);
      expect(
        await metricValue(view.registry, 'fleetscan_fleetview_messages_total', { kind: 'invalid' }),
      ).toBe(0);
      expect(await metricValue(view.registry, 'fleetscan_fleetview_ingest_failures_total')).toBe(0);
    } finally {
      await view.stop();
    }
  });
});
