import {
  type BlobStore,
  type ImageScanRequest,
  type RegistryCredentials,
  SbomEntrySchema,
} from '@fleetscan/bus';
import { createLogger } from '@fleetscan/service';
import type { KV } from '@nats-io/kv';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ImageFindings, ScanEngine } from './engine.ts';
import { RegistryLookupError, ScanErrorCode } from './errors.ts';
import { createImageScans, type ScanInput } from './image-scan.ts';
import { createScannerMetrics } from './metrics.ts';

// The decisions of image-scan.ts with a scripted engine (the ScanEngine seam) and in-memory
// stand-ins for the object store and the lock bucket; the real ones run in
// test/integration/scanner-lifecycle.test.ts.

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const IMAGE = 'reg.example:5000/team/app:1';
const CREDS: RegistryCredentials = { username: 'robot', password: 's3cret-pass' };

function memoryBlobs(): BlobStore & { keys(): string[] } {
  const m = new Map<string, unknown>();
  return {
    bucket: 'memory',
    async put(schema, key, value) {
      m.set(key, JSON.parse(JSON.stringify(schema.parse(value))));
    },
    async get(schema, key) {
      return schema.parse(m.get(key));
    },
    async has(key) {
      return m.has(key);
    },
    keys: () => [...m.keys()],
  };
}

function memoryLocks(): KV {
  const m = new Map<string, { value: string; revision: number; created: Date }>();
  let rev = 0;
  const kv = {
    async create(k: string, v: string) {
      if (m.has(k)) throw new Error('wrong last sequence');
      m.set(k, { value: v, revision: ++rev, created: new Date() });
      return rev;
    },
    async get(k: string) {
      const e = m.get(k);
      return e ? { operation: 'PUT', revision: e.revision, created: e.created, string: () => e.value } : null;
    },
    async put(k: string, v: string) {
      m.set(k, { value: v, revision: ++rev, created: new Date() });
      return rev;
    },
    async update(k: string, v: string) {
      return kv.put(k, v);
    },
    async delete(k: string) {
      m.delete(k);
    },
  };
  return kv as unknown as KV;
}

const findings = (ids: string[]): ImageFindings => ({
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  registry: { server: 'reg.example:5000' },
  artifact: { repository: 'team/app', tag: '1' },
  os: { family: 'alpine', name: '3.18.0' },
  vulnerabilities: ids.map((id) => ({
    vulnerabilityID: id,
    resource: 'openssl',
    installedVersion: '1',
    fixedVersion: '2',
    publishedDate: '',
    lastModifiedDate: '',
    severity: 'HIGH' as const,
    title: id,
    links: [],
    target: IMAGE,
  })),
});

function setup(
  opts: { access?: (creds: RegistryCredentials | undefined) => void; engine?: Partial<ScanEngine> } = {},
) {
  const calls = { analyse: [] as (RegistryCredentials | undefined)[], match: 0, access: 0 };
  const db = 'CVE-1';
  const engine: ScanEngine = {
    async analyseImage(image, o) {
      calls.analyse.push(o.credentials);
      return {
        findings: findings([db]),
        ...(o.scanners.includes('secret') && {
          secrets: [
            {
              target: '/app/credentials',
              ruleID: 'aws-access-key-id',
              title: 'AWS Access Key ID',
              category: 'AWS',
              severity: 'CRITICAL' as const,
              match: 'aws_access_key_id = ****',
            },
            // From the image config: trivy names it after the reference it was given.
            {
              target: image,
              ruleID: 'jwt-token',
              title: 'JWT token',
              category: 'JWT',
              severity: 'MEDIUM' as const,
              match: '  "API_TOKEN=****"',
            },
          ],
        }),
        sbom: '{"bomFormat":"CycloneDX"}',
      };
    },
    async matchSbom() {
      calls.match++;
      return findings([db, 'CVE-NEW']);
    },
    auditManifests: async () => [],
    scanner: async () => ({ name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' }),
    auditorReady: async () => '0.74.0',
    auditorRunning: () => true,
    dbUpdatedAt: async () => '2026-11-01T00:00:00Z',
    close: async () => {},
    ...opts.engine,
  };
  const blobs = memoryBlobs();
  let now = Date.parse('2026-11-10T00:00:00Z');
  const metrics = createScannerMetrics(new Registry());
  const scans = createImageScans({
    blobs,
    locks: memoryLocks(),
    engine,
    checkAccess: async (_image, _digest, creds) => {
      calls.access++;
      if (opts.access) opts.access(creds);
      else if (!creds)
        throw new RegistryLookupError(ScanErrorCode.Unauthorized, 'unauthorized', { status: 401 });
    },
    metrics,
    logger: createLogger({ service: 'test', level: 'silent' }),
    clock: {
      now: () => {
        now += 1000;
        return new Date(now);
      },
    },
    replica: 'r1',
    signal: new AbortController().signal,
  });
  const input = (over: Partial<ImageScanRequest> = {}, extra: Partial<ScanInput> = {}): ScanInput => ({
    req: {
      v: 1,
      cluster: 'c1',
      namespace: 'ns',
      image: IMAGE,
      scanners: ['vuln'],
      settings: {},
      scanConfigHash: 'x',
      requestedAt: new Date(now).toISOString(),
      ...over,
    },
    digest: DIGEST,
    db: '2026-11-01T00:00:00Z',
    accessChecked: false,
    ...extra,
  });
  const advance = (ms: number) => {
    now += ms;
  };
  return { scans, calls, blobs, input, advance, metrics };
}

describe('image scans: pull once, then cache or re-match', () => {
  it('analyses a new digest once, serves the result after, and re-matches for a new DB', async () => {
    const { scans, calls, input } = setup();
    const first = await scans.produce(input());
    expect(first).toMatchObject({ how: 'scanned', access: 'public' });
    expect(await scans.produce(input())).toMatchObject({
      how: 'cached',
      key: first.key,
      scannedAt: first.scannedAt,
    });
    const newDb = await scans.produce({ ...input(), db: '2026-11-02T00:00:00Z' });
    expect(newDb.how).toBe('matched');
    expect(newDb.key).not.toBe(first.key);
    expect(calls.analyse).toHaveLength(1);
    expect(calls.match).toBe(1);
    expect(calls.access).toBe(0);
  });

  it("names the analysis behind every result, scanned, matched or cached, for the writer's SbomReports", async () => {
    const { scans, blobs, input } = setup();
    const outs = [
      await scans.produce(input()),
      await scans.produce(input()),
      await scans.produce({ ...input(), db: '2026-11-02T00:00:00Z' }),
    ];
    expect(outs.map((o) => o.how)).toEqual(['scanned', 'cached', 'matched']);
    const sbomKeys = blobs.keys().filter((k) => k.startsWith('sbom/'));
    expect(sbomKeys).toHaveLength(1);
    for (const o of outs) expect(o.sbomKey).toBe(sbomKeys[0]);
    const entry = await blobs.get(SbomEntrySchema, sbomKeys[0] ?? '');
    expect(entry).toMatchObject({ digest: DIGEST, sbom: '{"bomFormat":"CycloneDX"}' });
  });

  it('notBefore after the stored scan: re-matched, with a new scannedAt', async () => {
    const { scans, calls, input } = setup();
    const first = await scans.produce(input());
    const refreshed = await scans.produce(
      input({ notBefore: new Date(Date.parse(first.scannedAt) + 1).toISOString() }),
    );
    expect(refreshed).toMatchObject({ how: 'matched', key: first.key });
    expect(Date.parse(refreshed.scannedAt)).toBeGreaterThan(Date.parse(first.scannedAt));
    expect(calls.analyse).toHaveLength(1);
    // The analysis's time stays: the writer's ExposedSecretReports (from the analysis) are unchanged.
    expect(first.data?.analysedAt).toBeDefined();
    expect(refreshed.data?.analysedAt).toBe(first.data?.analysedAt);
  });

  it('match settings on a fresh digest: one analysis, then one re-match with them', async () => {
    const { scans, calls, input } = setup();
    const out = await scans.produce(input({ settings: { severities: ['CRITICAL'] } }));
    expect(out.how).toBe('scanned');
    expect(calls).toMatchObject({ match: 1 });
    expect(calls.analyse).toHaveLength(1);
  });

  it('writes a stored analysis again when a re-match uses it a day later, so the store TTL keeps it', async () => {
    const { scans, blobs, input, advance } = setup();
    await scans.produce(input());
    const key = blobs.keys().find((k) => k.startsWith('sbom/')) ?? '';
    const stored = (await blobs.get(SbomEntrySchema, key)).storedAt;
    await scans.produce({ ...input(), db: '2026-11-02T00:00:00Z' });
    expect((await blobs.get(SbomEntrySchema, key)).storedAt).toBe(stored);
    advance(25 * 3600_000);
    await scans.produce({ ...input(), db: '2026-11-03T00:00:00Z' });
    const after = await blobs.get(SbomEntrySchema, key);
    expect(Date.parse(after.storedAt)).toBeGreaterThan(Date.parse(stored));
    expect(after.analysedAt).toBe(stored);
  });

  it('keeps secrets apart and filters them per request', async () => {
    const { scans, blobs, input } = setup();
    const all = await scans.produce(input({ scanners: ['vuln', 'secret'] }));
    const low = await scans.produce(
      input({ scanners: ['vuln', 'secret'], settings: { severities: ['LOW'] } }),
    );
    const { ImageScanDataSchema } = await import('@fleetscan/bus');
    expect((await blobs.get(ImageScanDataSchema, all.key)).secrets).toHaveLength(2);
    expect((await blobs.get(ImageScanDataSchema, low.key)).secrets).toEqual([]);
    expect(blobs.keys().filter((k) => k.startsWith('sbom/'))).toHaveLength(1);
  });

  it("names an image-config secret after the requester's reference when the digest was analysed as another", async () => {
    const { scans, blobs, input, calls } = setup();
    const other = 'mirror.example:5000/team/app:1';
    await scans.produce(input({ scanners: ['vuln', 'secret'] }));
    const mirrored = await scans.produce(
      input({ image: other, scanners: ['vuln', 'secret'], settings: { severities: ['MEDIUM'] } }),
    );
    const { ImageScanDataSchema } = await import('@fleetscan/bus');
    expect((await blobs.get(ImageScanDataSchema, mirrored.key)).secrets?.map((x) => x.target)).toEqual([
      other,
    ]);
    expect(calls.analyse).toHaveLength(1);
  });

  it('serves the stored result whatever report fields a request asks for: they are not a scan setting', async () => {
    const { scans, calls, input } = setup();
    const first = await scans.produce(input());
    const fields = await scans.produce(input({ settings: { reportFields: ['CVSS', 'Description'] } }));
    expect(fields).toMatchObject({ how: 'cached', key: first.key });
    expect(calls.match).toBe(0);
  });
});

describe('image scans: who may read what', () => {
  it('an analysis with credentials is private; a request with only the digest is refused', async () => {
    const { scans, calls, input } = setup();
    const mine = await scans.produce(input({}, { credentials: CREDS }));
    expect(mine.access).toBe('private');
    expect(mine.key).toMatch(/\/private$/);
    expect(calls.analyse).toEqual([CREDS]);
    await expect(scans.produce(input())).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // The SBOM is private too: a new DB does not open it either.
    await expect(scans.produce({ ...input(), db: '2026-12-01T00:00:00Z' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(calls.analyse).toHaveLength(1);
  });

  it('another request with working credentials is served after one HEAD', async () => {
    const { scans, calls, input } = setup();
    await scans.produce(input({}, { credentials: CREDS }));
    // The analysis asked once, anonymously, whether the registry serves the digest to anyone.
    expect(calls.access).toBe(1);
    const other = { username: 'other-team', password: 'their-pass' };
    expect(await scans.produce(input({}, { credentials: other }))).toMatchObject({
      how: 'cached',
      access: 'private',
    });
    expect(calls.access).toBe(2);
  });

  it('a digest resolution by this requester counts as the check', async () => {
    const { scans, calls, input } = setup();
    await scans.produce(input({}, { credentials: CREDS }));
    const before = calls.access;
    expect(await scans.produce(input({}, { credentials: CREDS, accessChecked: true }))).toMatchObject({
      how: 'cached',
    });
    expect(calls.access).toBe(before);
  });

  it('pulled with credentials but served to anyone by the registry: public', async () => {
    const { scans, calls, input } = setup({ access: () => {} });
    expect(await scans.produce(input({}, { credentials: CREDS }))).toMatchObject({ access: 'public' });
    expect(calls.access).toBe(1);
    expect(await scans.produce(input())).toMatchObject({ how: 'cached', access: 'public' });
    expect(calls.access).toBe(1);
  });

  it('a public analysis is served to everyone without a registry round trip', async () => {
    const { scans, calls, input } = setup();
    await scans.produce(input());
    expect(await scans.produce(input({}, { credentials: CREDS }))).toMatchObject({
      how: 'cached',
      access: 'public',
    });
    expect(calls.access).toBe(0);
  });

  it('a request waiting on a private analysis still has to pass the check', async () => {
    const { scans, input } = setup();
    const [owner, waiter] = await Promise.allSettled([
      scans.produce(input({}, { credentials: CREDS })),
      scans.produce(input()),
    ]);
    expect(owner).toMatchObject({ status: 'fulfilled', value: { access: 'private' } });
    expect(waiter).toMatchObject({ status: 'rejected', reason: { code: 'UNAUTHORIZED' } });
  });

  it("a waiter does not inherit the producer's failure: it tries with its own credentials", async () => {
    const { scans, calls, input } = setup();
    await scans.produce(input({}, { credentials: CREDS }));
    const [anon, withCreds] = await Promise.allSettled([
      scans.produce({ ...input(), db: '2026-12-01T00:00:00Z' }),
      scans.produce({ ...input({}, { credentials: CREDS }), db: '2026-12-01T00:00:00Z' }),
    ]);
    expect(anon).toMatchObject({ status: 'rejected', reason: { code: 'UNAUTHORIZED' } });
    expect(withCreds).toMatchObject({ status: 'fulfilled', value: { how: 'matched', access: 'private' } });
    expect(calls.analyse).toHaveLength(1);
  });
});

describe('image scans: an urgent request does not wait for a niced run', () => {
  /** trivy runs that last until killed (the bulk one) or answer at once (a normal-priority one). */
  function niceableEngine() {
    const runs: string[] = [];
    const untilKilled = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('killed')), { once: true });
      });
    return {
      runs,
      engine: {
        async analyseImage(_image: string, o: { signal: AbortSignal; background?: boolean }) {
          runs.push(`analyse ${o.background ? 'niced' : 'normal'}`);
          if (o.background) return untilKilled(o.signal);
          return { findings: findings(['CVE-1']), sbom: '{"bomFormat":"CycloneDX"}' };
        },
        async matchSbom(_sbom: string, o: { signal: AbortSignal; background?: boolean }) {
          runs.push(`match ${o.background ? 'niced' : 'normal'}`);
          if (o.background) return untilKilled(o.signal);
          return findings(['CVE-1', 'CVE-NEW']);
        },
      } as Partial<ScanEngine>,
    };
  }

  it('an urgent request joining a bulk analysis in flight restarts it at normal priority; both get its result', async () => {
    const e = niceableEngine();
    const { scans, input, metrics } = setup({ engine: e.engine });
    const bulk = scans.produce(input({}, { background: true }));
    await new Promise((r) => setTimeout(r, 10));
    expect(e.runs).toEqual(['analyse niced']);
    const urgent = await scans.produce(input());
    expect(await bulk).toMatchObject({ how: 'scanned' });
    expect(urgent.how).toBe('cached');
    expect(e.runs).toEqual(['analyse niced', 'analyse normal']);
    expect((await metrics.promoted.get()).values[0]?.value).toBe(1);
    expect((await metrics.trivyRuns.get()).values.find((v) => v.labels.type === 'image')?.value).toBe(1);
  });

  it('an urgent request joining a bulk re-match (a DB update) restarts it at normal priority', async () => {
    const e = niceableEngine();
    const { scans, input } = setup({ engine: e.engine });
    await scans.produce(input());
    const newDb = { db: '2026-11-02T00:00:00Z' };
    const bulk = scans.produce({ ...input({}, { background: true }), ...newDb });
    await new Promise((r) => setTimeout(r, 10));
    const urgent = await scans.produce({ ...input(), ...newDb });
    expect((await bulk).how).toBe('matched');
    expect(urgent.how).toBe('cached');
    expect(e.runs).toEqual(['analyse normal', 'match niced', 'match normal']);
  });

  it('an urgent request with other match settings waits for the same analysis through its lock, and promotes it', async () => {
    const e = niceableEngine();
    const { scans, input } = setup({ engine: e.engine });
    const bulk = scans.produce(input({}, { background: true }));
    await new Promise((r) => setTimeout(r, 10));
    const urgent = await scans.produce(input({ settings: { severities: ['CRITICAL'] } }));
    await bulk;
    expect(urgent.how).toBe('matched');
    expect(e.runs.slice(0, 2)).toEqual(['analyse niced', 'analyse normal']);
    expect(e.runs.filter((r) => r.startsWith('analyse'))).toHaveLength(2);
  });
});
