import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  buildImage,
  isRegistryError,
  isStackError,
  MediaType,
  pushTestImages,
  type Registry,
  type RegistryError,
  sha256Digest,
  startRegistry,
  testImages,
} from '@fleetscan/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each describe starts its own distribution 2.8 in a temp dir, independent of
// the shared stack, so registry behaviour is tested in isolation.

async function tempRegistry(htpasswd?: { username: string; password: string }) {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-registry-test-'));
  const registry = await startRegistry({ dir, dieWithParent: true, ...(htpasswd ? { htpasswd } : {}) });
  return {
    registry,
    cleanup: async () => {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('open registry', { timeout: 60_000 }, () => {
  let registry: Registry;
  let cleanup = async () => {};

  beforeAll(async () => {
    ({ registry, cleanup } = await tempRegistry());
  }, 60_000);
  afterAll(async () => {
    await cleanup();
  }, 30_000);

  it('answers the v2 API check on 127.0.0.1', async () => {
    expect(registry.url).toBe(`http://${registry.host}`);
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('pushes the test images and serves back exactly what was built', async () => {
    const pushed = await pushTestImages(registry);
    expect(pushed.map((p) => p.ref)).toEqual([
      `${registry.host}/library/nginx:1.20`,
      `${registry.host}/library/alpine:3.18`,
      `${registry.host}/library/clean:1.0`,
      `${registry.host}/library/secret:1.0`,
    ]);

    const nginx = await buildImage(testImages.nginx);
    expect(pushed[0]?.digest).toBe(nginx.digest);

    const res = await fetch(`${registry.url}/v2/library/nginx/manifests/1.20`, {
      headers: { accept: MediaType.DockerManifest },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(MediaType.DockerManifest);
    const manifestBytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('docker-content-digest')).toBe(nginx.digest);
    expect(sha256Digest(manifestBytes)).toBe(nginx.digest);
    expect(manifestBytes.equals(nginx.manifest.bytes)).toBe(true);

    const manifest = JSON.parse(manifestBytes.toString()) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    const blob = async (digest: string) => {
      const r = await fetch(`${registry.url}/v2/library/nginx/blobs/${digest}`);
      expect(r.status).toBe(200);
      return Buffer.from(await r.arrayBuffer());
    };
    const layer = await blob(manifest.layers[0]!.digest);
    expect(sha256Digest(layer)).toBe(manifest.layers[0]!.digest);
    expect(layer.byteLength).toBe(manifest.layers[0]!.size);
    const config = JSON.parse((await blob(manifest.config.digest)).toString());
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(gunzipSync(layer))]);

    // Pinning by digest works too, which is what scan jobs will use.
    const byDigest = await fetch(`${registry.url}/v2/library/nginx/manifests/${nginx.digest}`, {
      method: 'HEAD',
      headers: { accept: MediaType.DockerManifest },
    });
    expect(byDigest.status).toBe(200);
  });

  it('pushing again is idempotent', async () => {
    const first = await pushTestImages(registry);
    const second = await pushTestImages(registry);
    expect(second).toEqual(first);
  });
});

describe('registry with htpasswd auth', { timeout: 60_000 }, () => {
  const auth = { username: 'fleetscan', password: 'registry-test-password' };
  let registry: Registry;
  let cleanup = async () => {};

  beforeAll(async () => {
    ({ registry, cleanup } = await tempRegistry(auth));
  }, 60_000);
  afterAll(async () => {
    await cleanup();
  }, 30_000);

  it('challenges anonymous requests with Basic', async () => {
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
  });

  it('refuses a push without credentials with a clear 401', async () => {
    const err = (await pushTestImages({ url: registry.url, host: registry.host }).catch(
      (e: unknown) => e,
    )) as RegistryError;
    expect(isRegistryError(err)).toBe(true);
    expect(err.status).toBe(401);
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toMatch(/401 Unauthorized: authentication required, no credentials given/);
  });

  it('refuses a push with a wrong password', async () => {
    const err = (await pushTestImages(registry, { ...auth, password: 'wrong' }).catch(
      (e: unknown) => e,
    )) as RegistryError;
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/credentials rejected/);
  });

  it('accepts a push with credentials and serves the manifest to them only', async () => {
    expect(registry.auth).toEqual(auth);
    const pushed = await pushTestImages(registry, auth);
    expect(pushed).toHaveLength(Object.keys(testImages).length);
    const url = `${registry.url}/v2/library/alpine/manifests/3.18`;
    const headers = { accept: MediaType.DockerManifest };
    expect((await fetch(url, { headers })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const res = await fetch(url, { headers: { ...headers, authorization: basic } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(pushed[1]?.digest);
  });
});

describe('registry start-up', { timeout: 60_000 }, () => {
  it('fails fast, with the log, when its htpasswd entry does not match the credentials', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-registry-test-'));
    try {
      // Stands in for apache2-utils but hashes a different password.
      const fake = join(dir, 'htpasswd-other');
      await writeFile(fake, '#!/bin/sh\nexec /usr/bin/htpasswd -Bbn "$2" not-the-password\n');
      await chmod(fake, 0o755);
      const started = Date.now();
      const err = await startRegistry({
        dir,
        dieWithParent: true,
        htpasswd: { username: 'u', password: 'p' },
        htpasswdBinary: fake,
      }).catch((e: unknown) => e);
      expect(isStackError(err) && err.code).toBe('START_FAILED');
      expect((err as Error).message).toMatch(/htpasswd credentials were rejected[\s\S]*log: .*registry\.log/);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a missing binary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-registry-test-'));
    try {
      const err = await startRegistry({ dir, binary: join(dir, 'no-such-registry') }).catch(
        (e: unknown) => e,
      );
      expect(isStackError(err) && err.code).toBe('MISSING_BINARY');
      expect((err as Error).message).toContain('no-such-registry');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
