import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildImage } from './build.ts';
import { sha256Digest } from './oci.ts';
import { createRegistryClient, isRegistryError, type RegistryError } from './push.ts';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Buffer;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server | undefined;

async function stub(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Behaves like distribution for an empty repository; `manifestDigest` lets a test lie. */
function fakeRegistry(opts: { manifestDigest?: string; existing?: Set<string> } = {}): Handler {
  const blobs = new Set(opts.existing);
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'HEAD' && url.pathname.includes('/blobs/')) {
      res.writeHead(blobs.has(url.pathname.split('/').pop()!) ? 200 : 404).end();
    } else if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/')) {
      res.writeHead(202, { location: '/v2/library/x/blobs/uploads/u1?_state=abc' }).end();
    } else if (req.method === 'PUT' && url.pathname.includes('/blobs/uploads/')) {
      const digest = url.searchParams.get('digest')!;
      blobs.add(digest);
      res.writeHead(201, { 'docker-content-digest': sha256Digest(req.body) }).end();
    } else if (req.method === 'PUT' && url.pathname.includes('/manifests/')) {
      res.writeHead(201, { 'docker-content-digest': opts.manifestDigest ?? sha256Digest(req.body) }).end();
    } else {
      res.writeHead(500).end('unexpected');
    }
  };
}

const image = await buildImage({
  repository: 'library/x',
  tag: '1',
  distro: { kind: 'alpine', release: '3.18.0', packages: [] },
});

describe('registry client', () => {
  it('pushes layers, config and manifest with monolithic uploads and basic auth', async () => {
    const { url, seen } = await stub(fakeRegistry());
    const client = createRegistryClient({ url, auth: { username: 'u', password: 'p' } });
    const result = await client.pushImage(image);
    expect(result).toEqual({ repository: 'library/x', tag: '1', digest: image.digest });
    expect(seen.map((s) => `${s.method} ${s.url.replace(/sha256(:|%3A)[0-9a-f]{64}/g, '<d>')}`)).toEqual([
      'HEAD /v2/library/x/blobs/<d>',
      'POST /v2/library/x/blobs/uploads/',
      'PUT /v2/library/x/blobs/uploads/u1?_state=abc&digest=<d>',
      'HEAD /v2/library/x/blobs/<d>',
      'POST /v2/library/x/blobs/uploads/',
      'PUT /v2/library/x/blobs/uploads/u1?_state=abc&digest=<d>',
      'PUT /v2/library/x/manifests/1',
    ]);
    expect(new Set(seen.map((s) => s.authorization))).toEqual(
      new Set([`Basic ${Buffer.from('u:p').toString('base64')}`]),
    );
    expect(seen[2]?.body.equals(image.layers[0]!.bytes)).toBe(true);
    expect(seen[6]?.contentType).toBe(image.manifest.mediaType);
    expect(seen[6]?.body.equals(image.manifest.bytes)).toBe(true);
  });

  it('skips blobs the registry already has', async () => {
    const existing = new Set([image.layers[0]!.digest, image.config.digest]);
    const { url, seen } = await stub(fakeRegistry({ existing }));
    await createRegistryClient({ url }).pushImage(image);
    expect(seen.map((s) => s.method)).toEqual(['HEAD', 'HEAD', 'PUT']);
  });

  it('fails when the registry computes another manifest digest', async () => {
    const { url } = await stub(fakeRegistry({ manifestDigest: sha256Digest(Buffer.from('other')) }));
    await expect(createRegistryClient({ url }).pushImage(image)).rejects.toThrow(/reports digest sha256:/);
  });

  it('turns error responses into RegistryError with status, body and a readable message', async () => {
    const body = JSON.stringify({
      errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }],
    });
    const { url } = await stub((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(body);
    });
    const err = (await createRegistryClient({ url })
      .pushBlob('library/x', { digest: image.config.digest, bytes: image.config.bytes })
      .catch((e: unknown) => e)) as RegistryError;
    // HEAD has no body, so the first failure carries only the status.
    expect(isRegistryError(err)).toBe(true);
    expect(err.code).toBe('REGISTRY');
    expect(err.status).toBe(403);
    expect(err.method).toBe('HEAD');

    const manifestErr = (await createRegistryClient({ url })
      .putManifest('library/x', '1', image.manifest)
      .catch((e: unknown) => e)) as RegistryError;
    expect(manifestErr.status).toBe(403);
    expect(manifestErr.body).toBe(body);
    expect(manifestErr.message).toContain(
      'PUT /v2/library/x/manifests/1 → 403 Forbidden: DENIED: requested access',
    );
  });

  it('reports a connection failure as status 0', async () => {
    const { url } = await stub(() => {});
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const err = (await createRegistryClient({ url })
      .hasBlob('library/x', image.config.digest)
      .catch((e: unknown) => e)) as RegistryError;
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/request failed/);
  });
});
