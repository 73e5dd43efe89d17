import {
  type ApkPackage,
  buildImage,
  createRegistryClient,
  type DpkgPackage,
  type ImageSpec,
  testImages,
} from '@fleetscan/stack';

/** A benchmark image as pushed: reference by tag, and the digest it resolves to. */
export interface BenchImage {
  ref: string;
  digest: string;
  base: 'debian' | 'alpine';
}

const BASES = [testImages.nginx, testImages.alpine, testImages.clean] as const;
/** Essential packages stay in every variant so each image still reads as a working distro. */
const KEEP = new Set(['base-files', 'bash', 'musl', 'busybox']);

/**
 * The i-th benchmark image: a catalog image (nginx/bullseye, alpine, clean/bookworm in turn) with a
 * subset of its packages, chosen by i, plus one package of its own, so every variant has a distinct
 * package set, digest and scan result while staying a real dpkg or apk database. `salt` makes a
 * fresh set with new digests (for phases that must miss every cache).
 */
export function variantSpec(i: number, salt = ''): ImageSpec {
  const base = BASES[i % BASES.length] as ImageSpec;
  const mask = Math.floor(i / BASES.length);
  const suffix = `${salt}${i}`;
  const repository = `bench/app-${suffix}`;
  if (base.distro.kind === 'debian') {
    const optional = base.distro.packages.filter((p) => !KEEP.has(p.name));
    const own: DpkgPackage = {
      name: `bench-app-${suffix}`,
      version: `1.0.${i}-1`,
      section: 'misc',
      installedSize: 10 + i,
      description: `fleetscan benchmark application ${suffix}`,
    };
    const packages = [
      ...base.distro.packages.filter((p) => KEEP.has(p.name)),
      ...optional.filter((_, j) => ((mask >> j) & 1) === 0),
      own,
    ].sort((a, b) => a.name.localeCompare(b.name));
    return { ...base, repository, tag: 'v1', distro: { ...base.distro, packages } };
  }
  const optional = base.distro.packages.filter((p) => !KEEP.has(p.name));
  const own: ApkPackage = {
    name: `bench-app-${suffix}`,
    version: `1.0.${i}-r0`,
    description: `fleetscan benchmark application ${suffix}`,
    depends: ['so:libc.musl-x86_64.so.1'],
  };
  const packages = [
    ...base.distro.packages.filter((p) => KEEP.has(p.name)),
    ...optional.filter((_, j) => ((mask >> j) & 1) === 0),
    own,
  ];
  return { ...base, repository, tag: 'v1', distro: { ...base.distro, packages } };
}

/** Builds and pushes `count` variants to the registry; one at a time (two cores, small images). */
export async function pushVariants(
  registry: { url: string; host: string },
  count: number,
  salt = '',
): Promise<BenchImage[]> {
  const client = createRegistryClient({ url: registry.url });
  const out: BenchImage[] = [];
  for (let i = 0; i < count; i++) {
    const spec = variantSpec(i, salt);
    const { repository, tag, digest } = await client.pushImage(await buildImage(spec));
    out.push({ ref: `${registry.host}/${repository}:${tag}`, digest, base: spec.distro.kind });
  }
  return out;
}
