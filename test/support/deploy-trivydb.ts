import { join } from 'node:path';
import { createRegistryClient, MediaType, sha256Digest } from '@fleetscan/stack';
import { execa } from 'execa';

/** trivy's DB artifact, as `oras push` publishes ghcr.io/aquasecurity/trivy-db:2. */
const DB_LAYER = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
const DB_CONFIG = 'application/vnd.aquasec.trivy.config.v1+json';

/**
 * Publishes the stack's fixture DB (`<cacheDir>/db`) to a local registry the way trivy's DB is
 * published upstream, so the scanner image's `trivy-db` script downloads it with real trivy.
 * Returns the repository reference to put in TRIVY_DB_REPOSITORIES.
 */
export async function publishTrivyDb(opts: {
  registryUrl: string;
  registryHost: string;
  cacheDir: string;
  repository?: string;
}): Promise<string> {
  const repository = opts.repository ?? 'fleetscan-test/trivy-db';
  const tgz = await execa(
    'tar',
    ['-czf', '-', '-C', join(opts.cacheDir, 'db'), 'trivy.db', 'metadata.json'],
    {
      encoding: 'buffer',
    },
  );
  const layer = Buffer.from(tgz.stdout);
  const config = Buffer.from('{}');
  const client = createRegistryClient({ url: opts.registryUrl });
  const layerDigest = sha256Digest(layer);
  const configDigest = sha256Digest(config);
  await client.pushBlob(repository, { digest: layerDigest, bytes: layer });
  await client.pushBlob(repository, { digest: configDigest, bytes: config });
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: DB_CONFIG, digest: configDigest, size: config.byteLength },
    layers: [
      {
        mediaType: DB_LAYER,
        digest: layerDigest,
        size: layer.byteLength,
        annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
      },
    ],
  };
  await client.putManifest(repository, '2', {
    mediaType: MediaType.OciManifest,
    bytes: Buffer.from(JSON.stringify(manifest)),
  });
  return `${opts.registryHost}/${repository}:2`;
}
