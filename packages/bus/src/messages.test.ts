import { describe, expect, it } from 'vitest';
import { BusErrorCode, decode, encode } from './codec.ts';
import {
  ConfigAuditRequestSchema,
  forSubject,
  type ImageScanRequest,
  ImageScanRequestSchema,
  type ImageScanResult,
  MAX_CLOCK_SKEW_MS,
  MAX_IMAGE_REF_LENGTH,
  messageSchemas,
} from './messages.ts';
import { subjects } from './subjects.ts';

const enc = new TextEncoder();
const NOW = Date.parse('2026-11-30T12:00:00Z');
const pinned = messageSchemas(() => NOW);

const request: ImageScanRequest = {
  v: 1,
  cluster: 'c1',
  image: 'registry.example.org:5000/team/app:1.2',
  namespace: 'shop',
  scanners: ['vuln'],
  settings: {},
  scanConfigHash: 'abc',
  requestedAt: '2026-11-30T11:59:00Z',
};

const result: ImageScanResult = {
  v: 1,
  cluster: 'c1',
  image: 'r/app:1',
  namespace: 'shop',
  scanConfigHash: 'abc',
  status: 'error',
  cached: false,
  error: { code: 'TRANSIENT', message: 'registry answered HTTP 500', permanent: false },
  finishedAt: '2026-11-30T11:59:59Z',
};

function rejection(schema: Parameters<typeof decode>[0], value: unknown): string {
  try {
    decode(schema, enc.encode(JSON.stringify(value)));
  } catch (err) {
    expect(err).toMatchObject({ code: BusErrorCode.InvalidMessage });
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('message limits', () => {
  it('an image reference as long as the distribution spec allows passes; one longer is poison, named but not quoted', () => {
    const longest = `${'r'.repeat(255)}:${'t'.repeat(128)}@sha512:${'a'.repeat(128)}`;
    expect(longest).toHaveLength(MAX_IMAGE_REF_LENGTH);
    expect(
      decode(ImageScanRequestSchema, enc.encode(JSON.stringify({ ...request, image: longest }))),
    ).toMatchObject({
      image: longest,
    });
    const huge = `r/app:${'x'.repeat(900_000)}`;
    const reason = rejection(ImageScanRequestSchema, { ...request, image: huge });
    expect(reason).toMatch(/^invalid message: image: /);
    expect(reason.length).toBeLessThan(200);
  });

  it('names and namespaces are held to Kubernetes limits, clusters and digests to their forms', () => {
    expect(rejection(ImageScanRequestSchema, { ...request, namespace: 'n'.repeat(64) })).toContain(
      'namespace',
    );
    expect(rejection(ImageScanRequestSchema, { ...request, namespace: '../etc' })).toContain('namespace');
    expect(rejection(ImageScanRequestSchema, { ...request, cluster: 'C1;rm' })).toContain('cluster');
    expect(rejection(ImageScanRequestSchema, { ...request, digest: 'sha256:../../v2' })).toContain('digest');
    const config = {
      v: 1,
      cluster: 'c1',
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'shop', name: 'web', uid: 'u1' },
      specHash: 's',
      pluginConfigHash: 'p',
      manifest: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web' } },
      requestedAt: request.requestedAt,
    };
    expect(decode(pinned.ConfigAuditRequestSchema, enc.encode(JSON.stringify(config))).owner.name).toBe(
      'web',
    );
    const longName = { ...config, owner: { ...config.owner, name: 'w'.repeat(254) } };
    expect(rejection(pinned.ConfigAuditRequestSchema, longName)).toContain('owner.name');
  });

  it('a result from the future beyond the clock skew is poison; within the skew it passes', () => {
    const soon = new Date(NOW + MAX_CLOCK_SKEW_MS - 1000).toISOString();
    expect(
      decode(pinned.ImageScanResultSchema, enc.encode(JSON.stringify({ ...result, finishedAt: soon }))),
    ).toBeTruthy();
    const future = new Date(NOW + 3600_000).toISOString();
    expect(rejection(pinned.ImageScanResultSchema, { ...result, finishedAt: future })).toContain(
      'finishedAt: in the future',
    );
    expect(rejection(pinned.ImageScanResultSchema, { ...result, scannedAt: future })).toContain('scannedAt');
    expect(rejection(pinned.ImageScanRequestSchema, { ...request, notBefore: future })).toContain(
      'notBefore',
    );
  });

  it('an error message past its limit cannot be sent', () => {
    const long = { ...result, error: { code: 'FAILED', message: 'x'.repeat(5000), permanent: false } };
    expect(() => encode(pinned.ImageScanResultSchema, long)).toThrow(/^cannot send: error\.message: /);
  });

  it('inline result data is held to the same limits as the message', () => {
    const data = {
      artifact: { repository: 'r/app', tag: '1' },
      registry: { server: 'r' },
      os: { family: 'debian' },
      scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.1' },
      vulnerabilities: [],
      scannedAt: '2026-11-30T11:59:00Z',
      dbUpdatedAt: '2026-11-30T00:00:00Z',
    };
    const ok = { ...result, status: 'ok', error: undefined, digest: 'sha256:abc', data };
    expect(pinned.ImageScanResultSchema.safeParse(ok).success).toBe(true);
    const future = new Date(NOW + 3600_000).toISOString();
    expect(
      rejection(pinned.ImageScanResultSchema, { ...ok, data: { ...data, scannedAt: future } }),
    ).toContain('data.scannedAt');
  });
});

describe('forSubject', () => {
  const request = (cluster: string) => ({
    v: 1,
    cluster,
    image: 'reg.example/app:1',
    namespace: 'team',
    scanners: ['vuln'],
    scanConfigHash: 'h',
    requestedAt: '2026-01-01T00:00:00Z',
  });

  it("accepts a message naming its subject's cluster and refuses one naming another", () => {
    const schema = forSubject(ImageScanRequestSchema, subjects.scanImage('a'));
    expect(schema.safeParse(request('a')).success).toBe(true);
    const other = schema.safeParse(request('b'));
    expect(other.success).toBe(false);
    expect(other.error?.issues[0]?.path).toEqual(['cluster']);
  });

  it('builds one schema per cluster and reuses it (zod compiles each new schema on first use)', () => {
    const a = forSubject(ImageScanRequestSchema, subjects.scanImage('a'));
    expect(forSubject(ImageScanRequestSchema, subjects.scanImage('a', 'bulk'))).toBe(a);
    const b = forSubject(ImageScanRequestSchema, subjects.scanImage('b'));
    expect(b).not.toBe(a);
    expect(b.safeParse(request('a')).success).toBe(false);
    expect(forSubject(ConfigAuditRequestSchema, subjects.scanConfig('a'))).not.toBe(a);
  });

  it('keeps the limits of the schema it wraps', () => {
    const schema = forSubject(ImageScanRequestSchema, subjects.scanImage('a'));
    expect(rejection(schema, { ...request('a'), image: `r/app:${'x'.repeat(900_000)}` })).toMatch(
      /^invalid message: image: /,
    );
  });
});
