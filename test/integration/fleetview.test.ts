import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STREAM_FLEET, subjects } from '@fleetscan/bus';
import { loadConfig, type RunningFleetview, startFleetview } from '@fleetscan/fleetview';
import { createLogger } from '@fleetscan/service';
import { natsConnectOptions, natsEnv, repoRoot, type Stack, startStack } from '@fleetscan/stack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, type Kube, kubeFor } from '../support/kube.ts';
import { type Services, startServices } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// The fleet view (issue 15) on two real clusters sharing one NATS and one scanner: the nginx test
// image carries CVE-2021-22945 (CRITICAL, curl) in the stack's trivy DB fixture.

const CVE = 'CVE-2021-22945';
const run = Math.random().toString(36).slice(2, 7);
const TOKEN = `token-${run}-0123456789abcdef`;
let stack: Stack;
const kube: Record<'a' | 'b', Kube> = {} as Record<'a' | 'b', Kube>;
const svc: Record<'a' | 'b', Services> = {} as Record<'a' | 'b', Services>;
const ns = { a: `fv-a-${run}`, b: `fv-b-${run}` };
const views: RunningFleetview[] = [];
let nginx = '';

async function startView(name: string): Promise<RunningFleetview> {
  const tokenFile = join(stack.dir, `${name}.token`);
  await writeFile(tokenFile, TOKEN, { mode: 0o600 });
  const config = loadConfig({
    ...natsEnv(stack.info(), { role: 'fleetview' }),
    API_PORT: '0',
    METRICS_PORT: '0',
    API_TOKEN_FILE: tokenFile,
  });
  const logger = createLogger({
    service: name,
    level: 'debug',
    destination: createWriteStream(join(stack.dir, `${name}.log`), { flags: 'a' }),
  });
  const view = await startFleetview({ config, logger });
  views.push(view);
  return view;
}

async function api<T>(view: RunningFleetview, path: string, token: string | null = TOKEN) {
  const res = await fetch(`http://127.0.0.1:${view.apiPort}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T,
  };
}

interface Row {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
  digest: string;
  severity: string;
}
const where = async (view: RunningFleetview) =>
  (await api<{ items: Row[]; total: number }>(view, `/v1/vulnerabilities/${CVE}/workloads?limit=500`)).body;
const ours = (rows: Row[]) => rows.filter((r) => r.namespace === ns.a || r.namespace === ns.b);
/** Where the rows run: one row per workload container and vulnerable package (curl and libcurl4 here). */
const placement = (rows: Row[]) => [
  ...new Set(ours(rows).map((r) => `${r.cluster}/${r.namespace}/${r.name.replace(/-[a-z0-9]+$/, '')}`)),
];

beforeAll(async () => {
  stack = await startStack({ clusters: 2 });
  for (const c of ['a', 'b'] as const) {
    const info = stack.clusters.find((x) => x.name === c);
    if (!info) throw new Error(`no cluster ${c}`);
    kube[c] = kubeFor(info.kubeconfigPath);
    await kube[c].core.createNamespace({ body: { metadata: { name: ns[c] } } });
  }
  nginx = stack.images.find((i) => i.name === 'library/nginx:1.20')?.ref ?? '';
  if (!nginx) throw new Error('no nginx test image');
  const info = stack.info();
  svc.a = await startServices(info, 'a', {}, { scanners: 1 });
  svc.b = await startServices(info, 'b', {}, { scanners: 0 });
}, 400_000);

afterAll(async () => {
  for (const v of views) await v.stop().catch(() => {});
  await svc.a?.stop();
  await svc.b?.stop();
  await stack?.stop();
}, 120_000);

describe('the fleet view on two clusters', () => {
  let view: RunningFleetview;

  it('lists every workload running a known CVE in both clusters', async () => {
    view = await startView('fleetview');
    await Promise.all([
      kube.a.apps.createNamespacedDeployment({ namespace: ns.a, body: deployment('web', nginx) }),
      kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('web', nginx) }),
      kube.b.apps.createNamespacedDeployment({ namespace: ns.b, body: deployment('worker', nginx) }),
    ]);
    const rows = await waitFor(
      'the CVE in all three workloads',
      async () => {
        const r = ours((await where(view)).items);
        const at = placement(r);
        return [`a/${ns.a}/web`, `b/${ns.b}/web`, `b/${ns.b}/worker`].every((p) => at.includes(p))
          ? r
          : undefined;
      },
      180_000,
    );
    expect(placement(rows).sort()).toEqual([`a/${ns.a}/web`, `b/${ns.b}/web`, `b/${ns.b}/worker`]);
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(['ReplicaSet']));
    expect(new Set(rows.map((r) => r.severity))).toEqual(new Set(['CRITICAL']));
    const digest = rows[0]?.digest ?? '';
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    // The same digest, asked for directly, and ranked first to fix (three workloads, two clusters).
    const d = await api<{ total: number; findings: { id: string }[] }>(
      view,
      `/v1/images/${digest}/workloads`,
    );
    expect(d.status).toBe(200);
    expect(d.body.total).toBe(3);
    expect(d.body.findings.map((f) => f.id)).toContain(CVE);
    const ff = await api<{ items: { digest: string; workloads: number; clusters: number }[] }>(
      view,
      '/v1/fix-first',
    );
    expect(ff.body.items.find((i) => i.digest === digest)).toMatchObject({ workloads: 3, clusters: 2 });
    const csv = await api<string>(view, `/v1/vulnerabilities/${CVE}/workloads?format=csv&limit=1000`);
    expect(csv.status).toBe(200);
    expect(csv.body.split('\r\n').filter((l) => l.includes(ns.b))).toHaveLength(
      rows.filter((r) => r.namespace === ns.b).length,
    );
    const clusters = await api<{ items: { cluster: string; owners: number; critical: number }[] }>(
      view,
      '/v1/clusters',
    );
    expect(clusters.body.items.map((c) => c.cluster)).toEqual(['a', 'b']);
    for (const c of clusters.body.items) expect(c.critical).toBeGreaterThan(0);
    // The config checks the workloads fail (nginx as root, a writable root filesystem...), counted per
    // cluster from what the scanners publish after each audit: b has two owners failing them.
    type Posture = { cluster: string; topFailingChecks: { id: string; severity: string; owners: number }[] };
    const posture = await waitFor(
      'top failing config checks in both clusters',
      async () => {
        const items = (await api<{ items: Posture[] }>(view, '/v1/clusters')).body.items;
        const top = (c: string) => items.find((i) => i.cluster === c)?.topFailingChecks[0]?.owners ?? 0;
        return top('a') >= 1 && top('b') >= 2 ? items : undefined;
      },
      120_000,
    );
    for (const c of posture) {
      expect(c.topFailingChecks.length, c.cluster).toBeGreaterThan(0);
      for (const k of c.topFailingChecks) expect(k.id.length, c.cluster).toBeGreaterThan(0);
    }
    const fresh = await api<{ total: number }>(
      view,
      `/v1/new?since=${new Date(Date.now() - 3600_000).toISOString()}`,
    );
    expect(fresh.body.total).toBeGreaterThan(0);
    // Every finding says which DB first found it: all are newer than no DB at all.
    const sinceDb = await api<{ total: number; items: { firstDb: string | null }[] }>(
      view,
      '/v1/new?sinceDb=1970-01-01T00:00:00Z',
    );
    expect(sinceDb.body.total).toBe(fresh.body.total);
    expect(sinceDb.body.items[0]?.firstDb).toMatch(/^\d{4}-\d\d-\d\dT/);
  }, 300_000);

  it('shows the workloads of a CVE searched on the page, in a real headless chromium', async () => {
    // Debian's chromium (.ci/bootstrap installs it), driven over CDP by puppeteer-core.
    const chromium = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    const browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // Root in CI has no user namespace sandbox; the page is our own, served on loopback.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${join(stack.dir, 'chromium')}`,
      ],
      timeout: 60_000,
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`http://127.0.0.1:${view.apiPort}/`);
      await page.type('#token', TOKEN);
      await page.type('#cve', CVE);
      await page.click('#go');
      // A string, evaluated in the page (the tests' TypeScript has no DOM types).
      await page.waitForFunction(
        `(document.querySelector('#workloads tbody')?.textContent ?? '').includes(${JSON.stringify(ns.a)}) &&
         (document.querySelector('#workloads tbody')?.textContent ?? '').includes(${JSON.stringify(ns.b)})`,
      );
      const cells = await page.$$eval('#workloads tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      const shown = new Set(
        cells
          .filter((c) => c[1] === ns.a || c[1] === ns.b)
          .map((c) => `${c[0]}/${c[1]}/${c[3]?.replace(/-[a-z0-9]+$/, '')}`),
      );
      expect([...shown].sort()).toEqual([`a/${ns.a}/web`, `b/${ns.b}/web`, `b/${ns.b}/worker`]);
      expect(await page.$eval('#error', (e) => e.textContent)).toBe('');
      // The image that carries it, by digest: its three workloads and the CVE among its findings.
      const digest = ours((await where(view)).items)[0]?.digest ?? '';
      await page.type('#digest', digest);
      await page.click('#image-go');
      await page.waitForFunction(
        `(document.querySelector('#image-findings tbody')?.textContent ?? '').includes(${JSON.stringify(CVE)}) &&
         (document.querySelector('#image-workloads tbody')?.textContent ?? '').includes(${JSON.stringify(ns.b)})`,
      );
      // What is new since any DB: the CVE, found by the stack's DB, in both clusters.
      await page.type('#sincedb', '1970-01-01T00:00:00Z');
      await page.click('#news-go');
      await page.waitForFunction(
        `(document.querySelector('#new tbody')?.textContent ?? '').includes(${JSON.stringify(CVE)})`,
      );
      expect(await page.$eval('#error', (e) => e.textContent)).toBe('');
      // Kept as the run's artifact (.stack/ is not committed).
      const dir = join(repoRoot, '.stack', 'artifacts');
      await mkdir(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'fleetview-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('drops a deleted workload from the answer within seconds', async () => {
    await kube.b.apps.deleteNamespacedDeployment({
      namespace: ns.b,
      name: 'worker',
      propagationPolicy: 'Foreground',
    });
    const rows = await waitFor(
      'the deleted workload to leave the answer',
      async () => {
        const r = placement((await where(view)).items);
        return r.includes(`b/${ns.b}/worker`) ? undefined : r;
      },
      30_000,
    );
    expect(rows.sort()).toEqual([`a/${ns.a}/web`, `b/${ns.b}/web`]);
  }, 60_000);

  it('gives the same answers when rebuilt from the stream', async () => {
    const rebuilt = await startView('fleetview-rebuilt');
    await rebuilt.caughtUp;
    const digest = ours((await where(view)).items)[0]?.digest ?? '';
    for (const path of [
      `/v1/vulnerabilities/${CVE}/workloads?limit=500`,
      `/v1/images/${digest}/workloads`,
      '/v1/fix-first',
      '/v1/clusters',
      '/v1/new?since=2000-01-01T00:00:00Z&limit=500',
    ]) {
      expect((await api(rebuilt, path)).body, path).toEqual((await api(view, path)).body);
    }
  }, 60_000);

  it('refuses hostile input with a 4xx, and requests without the token', async () => {
    for (const path of [
      `/v1/vulnerabilities/${encodeURIComponent("' OR 1=1 --")}/workloads`,
      `/v1/vulnerabilities/${CVE}/workloads?limit=100000000`,
      `/v1/vulnerabilities/${CVE}/workloads?severity=${'X'.repeat(300)}`,
      `/v1/vulnerabilities/${CVE}/workloads?${'p=1&'.repeat(2000)}`,
      '/v1/images/sha256:../workloads',
      '/v1/new?since=not-a-time',
    ]) {
      const r = await api<{ error: { code: string } }>(view, path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
    }
    expect((await api(view, '/v1/clusters', null)).status).toBe(401);
    // Still answering.
    expect(placement((await where(view)).items).sort()).toEqual([`a/${ns.a}/web`, `b/${ns.b}/web`]);
  });

  it('reads with an identity that can publish nothing to the fleet stream', async () => {
    const nc: NatsConnection = await connect({
      ...natsConnectOptions(stack, { role: 'fleetview' }),
      reconnect: false,
    });
    try {
      const err = await jetstream(nc)
        .publish(subjects.inventorySynced('a'), '{}')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(String((err as Error | undefined)?.message)).toMatch(/permissions violation/i);
    } finally {
      await nc.close();
    }
    const admin = await connect(natsConnectOptions(stack));
    try {
      const info = await (await jetstreamManager(admin)).streams.info(STREAM_FLEET);
      expect(info.config.max_msgs_per_subject).toBe(1);
    } finally {
      await admin.close();
    }
  });
});
