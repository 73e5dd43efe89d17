import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildImage, type ImageSpec } from './build.ts';
import { MediaType, sha256Digest } from './oci.ts';

const spec: ImageSpec = {
  repository: 'test/app',
  tag: '1',
  distro: { kind: 'alpine', release: '3.18.0', packages: [{ name: 'musl', version: '1.2.4-r0' }] },
  files: { 'app/.env': 'AWS_SECRET_ACCESS_KEY=x\n' },
};

describe('buildImage', () => {
  it('same spec, same digests', async () => {
    const a = await buildImage(spec);
    const b = await buildImage(structuredClone(spec));
    expect(b.digest).toBe(a.digest);
    expect(b.config.digest).toBe(a.config.digest);
    expect(b.layers[0]?.digest).toBe(a.layers[0]?.digest);
  });

  it('ties manifest, config and layer together', async () => {
    const image = await buildImage(spec);
    const layer = image.layers[0]!;
    const manifest = JSON.parse(image.manifest.bytes.toString());
    const config = JSON.parse(image.config.bytes.toString());
    expect(image.digest).toBe(sha256Digest(image.manifest.bytes));
    expect(manifest.config.digest).toBe(image.config.digest);
    expect(manifest.layers).toEqual([
      {
        mediaType: MediaType.DockerLayerGzip,
        size: layer.bytes.byteLength,
        digest: sha256Digest(layer.bytes),
      },
    ]);
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(gunzipSync(layer.bytes))]);
    expect(config.rootfs.diff_ids[0]).not.toBe(layer.digest);
    expect(config.history).toHaveLength(1);
  });

  it('extra files change the digest; created is part of the config', async () => {
    const base = await buildImage(spec);
    const other = await buildImage({ ...spec, files: { 'app/.env': 'nothing\n' } });
    const later = await buildImage({ ...spec, created: '2025-01-01T00:00:00Z' });
    expect(other.layers[0]?.digest).not.toBe(base.layers[0]?.digest);
    expect(later.layers[0]?.digest).toBe(base.layers[0]?.digest);
    expect(later.digest).not.toBe(base.digest);
  });
});
