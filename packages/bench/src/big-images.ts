import { createHash, randomFillSync } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import {
  buildImage,
  buildImageConfig,
  buildManifest,
  createRegistryClient,
  MediaType,
} from '@fleetscan/stack';
import { variantSpec } from './images.ts';
import { MB } from './link-pacing.ts';
import { TAR_END, tarFileHeader, tarPadding } from './tar-header.ts';

/** A pushed big image: its reference on the registry itself, digest and size of its layers. */
export interface BigImage {
  repository: string;
  tag: string;
  digest: string;
  bytes: number;
}

/** Random data goes in files of this size (a big layer is many files, as real ones are). */
const FILE_BYTES = 64 * MB;
const CHUNK = MB;

/** Sizes of `count` images spread evenly over [minMb, maxMb] (pure). */
export function bigImageSizesMb(count: number, minMb: number, maxMb: number): number[] {
  if (count === 1) return [minMb];
  return Array.from({ length: count }, (_, i) => Math.round(minMb + ((maxMb - minMb) * i) / (count - 1)));
}

/**
 * An image of `sizeMb` as a remote registry would serve it: a small distro layer (a real dpkg or
 * apk database, so trivy finds packages to match) and one layer of incompressible random data in
 * files, gzip'd (level 0: random data does not compress, and the size stays the data's). The big
 * layer is generated and uploaded as a stream (never on disk outside the registry, never whole in
 * memory).
 */
export async function pushBigImage(
  registry: { url: string },
  i: number,
  sizeMb: number,
  salt: string,
): Promise<BigImage> {
  const client = createRegistryClient({ url: registry.url });
  const base = await buildImage({ ...variantSpec(i, `big${salt}`), repository: `bench/big-${i}` });
  const distro = base.layers[0];
  if (!distro) throw new Error('variant image without a layer');
  const repository = `bench/big-${salt}-${i}`;
  await client.pushBlob(repository, distro);
  const big = await uploadStream(registry.url, repository, randomTarGzip(sizeMb * MB, `opt/data-${i}`));
  const created = '2024-01-01T00:00:00Z';
  const config = buildImageConfig({
    diffIds: [distro.diffId, big.diffId],
    created,
    history: [
      { created, created_by: 'ADD rootfs /' },
      { created, created_by: `ADD ${sizeMb} MB of random data /opt` },
    ],
  });
  await client.pushBlob(repository, config);
  const manifest = buildManifest(config, [
    distro,
    { mediaType: MediaType.DockerLayerGzip, size: big.size, digest: big.digest },
  ]);
  const digest = await client.putManifest(repository, 'v1', manifest);
  return { repository, tag: 'v1', digest, bytes: distro.size + big.size };
}

/** `mb` of random bytes as a blob (trivy-operator's model: the DB a scan job downloads). */
export async function pushRandomBlob(
  registry: { url: string },
  repository: string,
  bytes: number,
): Promise<{ digest: string; size: number }> {
  const r = await uploadStream(registry.url, repository, {
    stream: Readable.from(randomChunks(bytes)),
    diffId: Promise.resolve(''),
  });
  return { digest: r.digest, size: r.size };
}

function* randomChunks(bytes: number): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= CHUNK)
    yield randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK, left)));
}

/** A gzip'd tar of `bytes` of random data in files under `dir`; resolves its diffId once read. */
function randomTarGzip(bytes: number, dir: string): { stream: Readable; diffId: Promise<string> } {
  const tarHash = createHash('sha256');
  let resolveDiff: (d: string) => void = () => {};
  const diffId = new Promise<string>((r) => {
    resolveDiff = r;
  });
  function* tar(): Generator<Buffer> {
    for (let f = 0, left = bytes; left > 0; f++, left -= FILE_BYTES) {
      const size = Math.min(FILE_BYTES, left);
      yield tarFileHeader(`${dir}/part-${String(f).padStart(4, '0')}.bin`, size, 1_704_067_200);
      yield* randomChunks(size);
      yield tarPadding(size);
    }
    yield TAR_END;
  }
  const source = Readable.from(
    (function* () {
      for (const chunk of tar()) {
        tarHash.update(chunk);
        yield chunk;
      }
      resolveDiff(`sha256:${tarHash.digest('hex')}`);
    })(),
  );
  return { stream: source.pipe(createGzip({ level: 0 })), diffId };
}

/**
 * A streamed blob upload: POST starts it, one PATCH carries the data (chunked), PUT with the
 * digest computed on the way closes it. The registry checks the digest.
 */
async function uploadStream(
  registryUrl: string,
  repository: string,
  blob: { stream: Readable; diffId: Promise<string> },
): Promise<{ digest: string; diffId: string; size: number }> {
  const base = new URL(registryUrl.endsWith('/') ? registryUrl : `${registryUrl}/`);
  const started = await fetch(new URL(`v2/${repository}/blobs/uploads/`, base), { method: 'POST' });
  await started.body?.cancel();
  const location = started.headers.get('location');
  if (started.status !== 202 || !location) throw new Error(`upload to ${repository}: HTTP ${started.status}`);
  const hash = createHash('sha256');
  let size = 0;
  const counted = blob.stream.pipe(
    new Transform({
      transform(c: Buffer, _enc, done) {
        hash.update(c);
        size += c.length;
        done(null, c);
      },
    }),
  );
  const patched = await fetch(new URL(location, base), {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(counted) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  await patched.body?.cancel();
  if (patched.status !== 202) throw new Error(`upload to ${repository}: PATCH HTTP ${patched.status}`);
  const digest = `sha256:${hash.digest('hex')}`;
  const put = new URL(patched.headers.get('location') ?? location, base);
  put.searchParams.set('digest', digest);
  const done = await fetch(put, { method: 'PUT' });
  await done.body?.cancel();
  if (done.status !== 201) throw new Error(`upload to ${repository}: PUT HTTP ${done.status}`);
  return { digest, diffId: await blob.diffId, size };
}
