import { describe, expect, it } from 'vitest';
import { buildImageConfig, buildManifest, MediaType, sha256Digest } from './oci.ts';

describe('oci builders', () => {
  const created = '2024-01-01T00:00:00Z';
  const diffId = sha256Digest(Buffer.from('tar'));

  it('image config: amd64/linux, diff_ids and history', () => {
    const config = buildImageConfig({
      diffIds: [diffId],
      created,
      history: [{ created, created_by: 'ADD /' }],
    });
    expect(config.mediaType).toBe(MediaType.DockerConfig);
    expect(config.digest).toBe(sha256Digest(config.bytes));
    expect(config.size).toBe(config.bytes.byteLength);
    const parsed = JSON.parse(config.bytes.toString());
    expect(parsed).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      created,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'ADD /' }],
    });
  });

  it('manifest: schema 2 referencing config and layers by digest and size', () => {
    const config = buildImageConfig({ diffIds: [diffId], created, history: [] });
    const layer = { mediaType: MediaType.DockerLayerGzip, digest: sha256Digest(Buffer.from('gz')), size: 2 };
    const manifest = buildManifest(config, [{ ...layer, bytes: Buffer.from('gz') } as typeof layer]);
    expect(manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(JSON.parse(manifest.bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, size: config.size, digest: config.digest },
      layers: [layer],
    });
  });

  it('oci format switches every media type', () => {
    const config = buildImageConfig({ diffIds: [diffId], created, history: [] }, 'oci');
    const manifest = buildManifest(config, [], 'oci');
    expect(config.mediaType).toBe(MediaType.OciConfig);
    expect(JSON.parse(manifest.bytes.toString()).mediaType).toBe(MediaType.OciManifest);
  });
});
