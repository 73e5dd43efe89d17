import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BLOB_BUCKET,
  credentialsAad,
  encode,
  ensureConsumer,
  ensureStreams,
  type ImageScanData,
  ImageScanDataSchema,
  type ImageScanRequest,
  ImageScanRequestSchema,
  type ImageScanResult,
  ImageScanResultSchema,
  resultsBucket,
  STATE_BUCKET,
  STATE_KEY_TRIVY_DB,
  STREAM_RESULTS,
  sealCredentials,
  subjects,
  writerConsumer,
  writerConsumerConfig,
} from '@fleetscan/bus';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import {
  buildImage,
  loadStackConfig,
  locateTools,
  natsConnectOptions,
  pushImage,
  type Registry,
  startRegistry,
  testImages,
} from '@fleetscan/stack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { metricValue, scannerEnv } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// The scanner in this process against the real stack: real trivy, NATS and registries. Requests
// are published directly; results are read from a consumer like a writer's. The scanner has its
// own copy of the trivy cache dir, so the test can swap in a new DB.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const cluster = `sl-${run}`;
const NEW_DB = '2026-11-02T00:00:00Z';

let dir = '';
let cacheDir = '';
let nc: NatsConnection;
let state: KV;
let stackDb: string | undefined;
let scanner: RunningScanner | undefined;
let logStream: ReturnType<typeof createWriteStream> | undefined;
let scratchBefore: string[] = [];
let fleetKey: { publicKey: string; privateKey: string };
let seq = 0;
const results: ImageScanResult[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-lifecycle-'));
  scratchBefore = await scratchDirs();
  cacheDir = join(dir, 'trivy-cache');
  await cp(join(stack().trivy.cacheDir, 'db'), join(cacheDir, 'db'), { recursive: true });
  fleetKey = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await writeFile(join(dir, 'fleet.key'), fleetKey.privateKey, { mode: 0o600 });

  nc = await connect(natsConnectOptions(stack()));
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  await ensureConsumer(jsm, STREAM_RESULTS, writerConsumerConfig(cluster));
  state = await new Kvm(jetstream(nc)).create(STATE_BUCKET);
  const e = await state.get(STATE_KEY_TRIVY_DB);
  stackDb = e?.operation === 'PUT' ? e.string() : undefined;
  scanner = await startTestScanner();
});

afterAll(async () => {
  await stopTestScanner();
  // Later test files' scanners use the stack's DB: do not leave the fleet announcing ours.
  if (stackDb) await state?.put(STATE_KEY_TRIVY_DB, stackDb);
  await nc?.close();
  await rm(dir, { recursive: true, force: true });
});

async function stopTestScanner(): Promise<void> {
  await scanner?.stop();
  scanner = undefined;
  const s = logStream;
  if (s) await new Promise<void>((resolve) => s.end(resolve));
}

/** The scanner's temporary directories (scratch.ts) that exist now. */
async function scratchDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((f) => f.startsWith('fleetscan-scan-'));
}

async function startTestScanner(): Promise<RunningScanner> {
  const config = scannerConfig(
    scannerEnv(stack(), {
      TRIVY_CACHE_DIR: cacheDir,
      SCANNER_PRIVATE_KEY_FILE: join(dir, 'fleet.key'),
      REPLICA_NAME: `${cluster}-scanner`,
      DB_CHECK_SECONDS: '1',
    }),
  );
  logStream = createWriteStream(join(dir, 'scanner.log'), { flags: 'a' });
  const logger = createLogger({ service: 'scanner', level: 'debug', destination: logStream });
  return startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
}

/** Publishes a request; its namespace (echoed in the result) identifies it. */
async function request(over: Partial<ImageScanRequest> & { image: string }): Promise<ImageScanResult> {
  const namespace = `req-${++seq}`;
  const req: ImageScanRequest = {
    v: 1,
    cluster,
    namespace,
    scanners: ['vuln'],
    settings: {},
    scanConfigHash: 'test',
    requestedAt: new Date().toISOString(),
    ...over,
  };
  await jetstream(nc).publish(subjects.scanImage(cluster), encode(ImageScanRequestSchema, req), {
    msgID: `${cluster}.${namespace}`,
  });
  return waitFor(
    `the result of ${namespace}`,
    async () => {
      await drainResults();
      return results.find((r) => r.namespace === namespace);
    },
    120_000,
  );
}

async function drainResults(): Promise<void> {
  const consumer = await jetstream(nc).consumers.get(STREAM_RESULTS, writerConsumer(cluster));
  for (;;) {
    const m = await consumer.next({ expires: 1000 });
    if (!m) return;
    results.push(ImageScanResultSchema.parse(JSON.parse(new TextDecoder().decode(m.data))));
    m.ack();
  }
}

async function dataOf(r: ImageScanResult): Promise<ImageScanData> {
  expect(r, JSON.stringify(r.error)).toMatchObject({ status: 'ok' });
  // Small results travel in the message; larger ones in the cluster's own results bucket.
  if (r.data) return r.data;
  const os = await new Objm(jetstream(nc)).open(resultsBucket(cluster));
  const bytes = await os.getBlob(r.blob ?? '');
  return ImageScanDataSchema.parse(JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())));
}

const ids = (d: ImageScanData) => [...new Set(d.vulnerabilities.map((v) => v.vulnerabilityID))].sort();
const metric = (name: string, labels: Record<string, string> = {}) =>
  metricValue(scanner?.registry ?? { getSingleMetricAsString: async () => '' }, name, labels);
const imageRuns = () => metric('fleetscan_scanner_trivy_runs_total', { type: 'image' });
const sbomMatches = () => metric('fleetscan_scanner_sbom_matches_total');

/** The stack's fixture plus one advisory (zlib, Debian 11), under a newer UpdatedAt. */
async function installNewDb(): Promise<void> {
  const fixture = parse(
    await readFile(join(import.meta.dirname, '../../packages/stack/fixtures/vulndb.yaml'), 'utf8'),
  ) as { updatedAt: string; vulnerabilities: unknown[] };
  fixture.updatedAt = NEW_DB;
  fixture.vulnerabilities.push({
    id: 'CVE-2022-37434',
    title:
      'zlib: heap-based buffer over-read and overflow in inflate() in inflate.c via a large gzip header extra field',
    description:
      'zlib through 1.2.12 has a heap-based buffer over-read or buffer overflow in inflate in inflate.c.',
    severity: 'CRITICAL',
    cvss: { v3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', v3Score: 9.8 },
    cweIDs: ['CWE-787'],
    references: ['https://security-tracker.debian.org/tracker/CVE-2022-37434'],
    publishedDate: '2022-08-05T07:15:00Z',
    affects: [{ platform: 'debian 11', package: 'zlib', fixedVersion: '1:1.2.11.dfsg-2+deb11u2' }],
  });
  const yamlFile = join(dir, 'vulndb-new.yaml');
  await writeFile(yamlFile, stringify(fixture));
  const built = join(dir, 'new-db');
  await mkdir(built, { recursive: true });
  const { dbfixture } = locateTools(loadStackConfig().cacheDir);
  await execa(dbfixture, ['-in', yamlFile, '-out', built]);
  // rename: trivy never sees a half-written DB.
  await rename(join(built, 'trivy.db'), join(cacheDir, 'db', 'trivy.db'));
  await rename(join(built, 'metadata.json'), join(cacheDir, 'db', 'metadata.json'));
}

describe('one analysis per digest, re-matched from its SBOM', () => {
  let registry: Registry;
  let image = '';
  let digest = '';
  let first: ImageScanData;
  // trivy image runs of this scanner once the image was analysed; nothing after that may pull.
  let runsAfterAnalysis = 0;

  beforeAll(async () => {
    registry = await startRegistry({ dir: join(dir, 'registry'), dieWithParent: true });
    const built = await buildImage({
      ...testImages.nginx,
      repository: 'library/lifecycle',
      tag: run,
      files: { 'etc/fleetscan-test': `${run}\n` },
    });
    await pushImage({ url: registry.url }, built);
    image = `${registry.host}/library/lifecycle:${run}`;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('announces its DB version in the fleet state bucket', async () => {
    const meta = JSON.parse(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8')) as {
      UpdatedAt: string;
    };
    const e = await state.get(STATE_KEY_TRIVY_DB);
    expect(e?.string()).toBe(meta.UpdatedAt);
  });

  it('pulls and analyses a new digest once', async () => {
    const r = await request({ image });
    first = await dataOf(r);
    digest = r.digest ?? '';
    expect(digest).toMatch(/^sha256:/);
    expect(r.cached).toBe(false);
    expect(r.scannedAt).toBe(first.scannedAt);
    expect(ids(first)).toContain('CVE-2021-22945');
    expect(ids(first)).not.toContain('CVE-2022-37434');
    expect(first.os).toEqual({ family: 'debian', name: '11.3', eosl: true });
    runsAfterAnalysis = await imageRuns();
    expect(runsAfterAnalysis).toBeGreaterThanOrEqual(1);
  });

  it('a new DB: the stored SBOM is re-matched, the registry is not needed', async () => {
    await registry.stop();
    await installNewDb();
    await waitFor('the new DB version in the state bucket', async () =>
      (await state.get(STATE_KEY_TRIVY_DB))?.string() === NEW_DB ? true : undefined,
    );
    const matchesBefore = await sbomMatches();
    const r = await request({ image, digest });
    const d = await dataOf(r);
    expect(d.dbUpdatedAt).toBe(NEW_DB);
    expect(ids(d)).toEqual([...ids(first), 'CVE-2022-37434'].sort());
    expect(d.vulnerabilities).toContainEqual(
      expect.objectContaining({
        vulnerabilityID: 'CVE-2022-37434',
        resource: 'zlib1g',
        severity: 'CRITICAL',
      }),
    );
    // Reported as the image scan reports it: same OS, same artifact, Targets naming the image.
    expect(d.os).toEqual(first.os);
    expect(d.artifact).toEqual(first.artifact);
    expect(new Set(d.vulnerabilities.map((v) => v.target))).toEqual(
      new Set(first.vulnerabilities.map((v) => v.target)),
    );
    expect(r.cached).toBe(false);
    expect(await imageRuns()).toBe(runsAfterAnalysis);
    expect((await sbomMatches()) - matchesBefore).toBe(1);
  });

  it('notBefore: a result older than it is refreshed by a re-match, with a new scannedAt', async () => {
    const cached = await request({ image, digest });
    expect(cached.cached).toBe(true);
    const matchesBefore = await sbomMatches();
    const r = await request({ image, digest, notBefore: new Date().toISOString() });
    expect(r.cached).toBe(false);
    expect(Date.parse(r.scannedAt ?? '')).toBeGreaterThan(Date.parse(cached.scannedAt ?? ''));
    expect(ids(await dataOf(r))).toContain('CVE-2022-37434');
    expect(await metric('fleetscan_scanner_sbom_matches_total', { trigger: 'stale' })).toBeGreaterThan(0);
    expect((await sbomMatches()) - matchesBefore).toBe(1);
    // And the refreshed result is what the next request gets.
    const again = await request({ image, digest });
    expect(again).toMatchObject({ cached: true, scannedAt: r.scannedAt });
    expect(await imageRuns()).toBe(runsAfterAnalysis);
  });

  it('other match settings: only HIGH and CRITICAL, from the SBOM', async () => {
    const r = await request({ image, digest, settings: { severities: ['HIGH', 'CRITICAL'] } });
    const d = await dataOf(r);
    expect(d.vulnerabilities.length).toBeGreaterThan(0);
    expect(new Set(d.vulnerabilities.map((v) => v.severity))).toEqual(new Set(['HIGH', 'CRITICAL']));
    expect(ids(d)).toContain('CVE-2021-22945');
    expect(ids(d)).not.toContain('CVE-2021-22947');
    expect(await imageRuns()).toBe(runsAfterAnalysis);
  });

  it('ignore-unfixed, an ignore file and an ignore policy reach trivy', async () => {
    const policy = [
      'package trivy',
      '',
      'default ignore = false',
      '',
      'ignore {',
      '\tinput.PkgName == "openssl"',
      '}',
      '',
    ];
    const r = await request({
      image,
      digest,
      settings: {
        ignoreUnfixed: true,
        ignoreFile: '# accepted\nCVE-2021-22945\n',
        ignorePolicy: policy.join('\n'),
      },
    });
    const d = await dataOf(r);
    const found = d.vulnerabilities.map((v) => `${v.vulnerabilityID}/${v.resource}`);
    // Unfixed (apt, glibc LOW) gone; 22945 ignored by the file; openssl by the policy, libssl1.1 kept.
    expect(found).not.toContain('CVE-2011-3374/apt');
    expect(found).not.toContain('CVE-2010-4756/libc6');
    expect(found.filter((f) => f.startsWith('CVE-2021-22945/'))).toEqual([]);
    expect(found).not.toContain('CVE-2022-0778/openssl');
    expect(found).toContain('CVE-2022-0778/libssl1.1');
    expect(found).toContain('CVE-2021-22946/curl');
    expect(await imageRuns()).toBe(runsAfterAnalysis);
  });

  it('removes the temporary files it gave trivy', async () => {
    expect((await scratchDirs()).filter((f) => !scratchBefore.includes(f))).toEqual([]);
  });
});

describe('private registries', () => {
  let image = '';
  const auth = () => stack().authRegistry;
  const sealed = (img: string, publicKey = fleetKey.publicKey) =>
    sealCredentials(
      publicKey,
      { username: auth().username, password: auth().password },
      credentialsAad(cluster, img),
    );

  beforeAll(async () => {
    const built = await buildImage({
      ...testImages.alpine,
      repository: 'library/private',
      tag: run,
      files: { 'etc/fleetscan-test': `${run}\n` },
    });
    await pushImage(
      { url: auth().url, auth: { username: auth().username, password: auth().password } },
      built,
    );
    image = `${auth().host}/library/private:${run}`;
  });

  it('scans with the sealed credentials of the request', async () => {
    const r = await request({ image, credentials: sealed(image) });
    expect(ids(await dataOf(r))).toContain('CVE-2023-2650');
  });

  it('without credentials: UNAUTHORIZED, once, not a retry loop', async () => {
    const before = await metric('fleetscan_scanner_requests_total', { type: 'image', outcome: 'retried' });
    const r = await request({ image });
    expect(r).toMatchObject({ status: 'error', error: { code: 'UNAUTHORIZED', permanent: true } });
    expect(await metric('fleetscan_scanner_requests_total', { type: 'image', outcome: 'retried' })).toBe(
      before,
    );
  });

  it("the digest alone does not open the private image's cached result to a request without credentials", async () => {
    const ok = await request({ image, credentials: sealed(image) });
    expect(ok.cached).toBe(true);
    const runs = await imageRuns();
    const r = await request({ image, digest: ok.digest ?? '' });
    expect(r).toMatchObject({ status: 'error', error: { code: 'UNAUTHORIZED', permanent: true } });
    expect(await imageRuns()).toBe(runs);
  });

  it('credentials it cannot open: CREDENTIALS, saying nothing secret', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const wrongKey = await request({ image, credentials: sealed(image, other.publicKey) });
    expect(wrongKey).toMatchObject({ status: 'error', error: { code: 'CREDENTIALS', permanent: true } });
    // Sealed for another image of the same cluster: the aad does not match.
    const replayed = await request({ image, credentials: sealed(`${auth().host}/library/nginx:1.20`) });
    expect(replayed).toMatchObject({ status: 'error', error: { code: 'CREDENTIALS', permanent: true } });
  });

  it('the password is nowhere: logs, results, object store, metrics', async () => {
    const password = auth().password;
    const os = await new Objm(jetstream(nc)).open(BLOB_BUCKET);
    const names: string[] = [];
    for (const info of await os.list()) names.push(info.name);
    expect(names.some((n) => n.endsWith('/private'))).toBe(true);
    for (const name of names) {
      const bytes = (await os.getBlob(name)) ?? new Uint8Array();
      expect(Buffer.from(bytes).includes(password), name).toBe(false);
    }
    expect(JSON.stringify(results)).not.toContain(password);
    expect(await scanner?.registry.metrics()).not.toContain(password);
    await stopTestScanner();
    const log = await readFile(join(dir, 'scanner.log'), 'utf8');
    expect(log).toContain('image scan result published');
    expect(log).not.toContain(password);
    scanner = await startTestScanner();
  });
});

describe('secrets', () => {
  const image = () => `${stack().registry.host}/library/secret:1.0`;

  it('finds the planted AWS key, redacted', async () => {
    const r = await request({ image: image(), scanners: ['vuln', 'secret'] });
    const d = await dataOf(r);
    expect(d.secrets).toContainEqual(
      expect.objectContaining({
        ruleID: 'aws-access-key-id',
        severity: 'CRITICAL',
        target: '/app/credentials',
      }),
    );
    const keyId = ['AKIA', '2E0A8F3B', '244C9986'].join('');
    expect(d.secrets?.find((s) => s.ruleID === 'aws-access-key-id')?.match).toMatch(
      /^aws_access_key_id = \*+$/,
    );
    expect(JSON.stringify(d)).not.toContain(keyId);
    expect(ids(d)).toContain('CVE-2023-2650');
  });

  it('filters stored secrets by severity on a re-match, and leaves them out when not asked for', async () => {
    const runs = await imageRuns();
    const low = await dataOf(
      await request({ image: image(), scanners: ['vuln', 'secret'], settings: { severities: ['LOW'] } }),
    );
    expect(low.secrets).toEqual([]);
    expect(await imageRuns()).toBe(runs);
    const vulnOnly = await dataOf(await request({ image: image(), scanners: ['vuln'] }));
    expect(vulnOnly.secrets).toBeUndefined();
  });
});
