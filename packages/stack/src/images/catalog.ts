import { buildImage, type ImageSpec } from './build.ts';
import type { DpkgPackage } from './distro.ts';
import { createRegistryClient, type RegistryAuth } from './push.ts';

// Names and versions below are matched by the vulnerability DB fixture; change
// them only together with it.

const openssl = 'Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>';
const glibc = 'GNU Libc Maintainers <debian-glibc@lists.debian.org>';
const curl = 'Alessandro Ghedini <ghedini@debian.org>';

const bullseyePackages: readonly DpkgPackage[] = [
  {
    name: 'apt',
    source: 'apt',
    version: '2.2.4',
    section: 'admin',
    priority: 'important',
    installedSize: 4337,
    maintainer: 'APT Development Team <deity@lists.debian.org>',
    description: 'commandline package manager',
  },
  {
    name: 'base-files',
    source: 'base-files',
    version: '11.1+deb11u3',
    section: 'admin',
    priority: 'required',
    essential: true,
    installedSize: 340,
    maintainer: 'Santiago Vila <sanvila@debian.org>',
    description: 'Debian base system miscellaneous files',
  },
  {
    name: 'bash',
    source: 'bash',
    version: '5.1-2+deb11u1',
    section: 'shells',
    priority: 'required',
    essential: true,
    installedSize: 6470,
    maintainer: 'Matthias Klose <doko@debian.org>',
    description: 'GNU Bourne Again SHell',
  },
  {
    name: 'curl',
    source: 'curl',
    version: '7.74.0-1.3+deb11u1',
    section: 'web',
    installedSize: 411,
    maintainer: curl,
    description: 'command line tool for transferring data with URL syntax',
  },
  {
    name: 'libc6',
    source: 'glibc',
    version: '2.31-13+deb11u2',
    section: 'libs',
    installedSize: 12837,
    maintainer: glibc,
    description: 'GNU C Library: Shared libraries',
  },
  {
    name: 'libcurl4',
    source: 'curl',
    version: '7.74.0-1.3+deb11u1',
    section: 'libs',
    installedSize: 712,
    maintainer: curl,
    description: 'easy-to-use client-side URL transfer library (OpenSSL flavour)',
  },
  {
    name: 'libssl1.1',
    source: 'openssl',
    version: '1.1.1k-1+deb11u1',
    section: 'libs',
    installedSize: 4124,
    maintainer: openssl,
    description: 'Secure Sockets Layer toolkit - shared libraries',
  },
  {
    name: 'nginx',
    source: 'nginx',
    version: '1.20.2-1~bullseye',
    section: 'httpd',
    installedSize: 3233,
    maintainer: 'NGINX Packaging <nginx-packaging@f5.com>',
    description: 'high performance web server',
  },
  {
    name: 'openssl',
    source: 'openssl',
    version: '1.1.1k-1+deb11u1',
    section: 'utils',
    installedSize: 1467,
    maintainer: openssl,
    description: 'Secure Sockets Layer toolkit - cryptographic utility',
  },
  {
    name: 'tzdata',
    source: 'tzdata',
    version: '2021a-1+deb11u4',
    section: 'localization',
    priority: 'required',
    installedSize: 3393,
    maintainer: glibc,
    description: 'time zone and daylight-saving time data',
  },
  {
    name: 'zlib1g',
    source: 'zlib',
    version: '1:1.2.11.dfsg-2',
    section: 'libs',
    priority: 'required',
    installedSize: 167,
    maintainer: 'Mark Brown <broonie@debian.org>',
    description: 'compression library - runtime',
  },
];

const nginx: ImageSpec = {
  repository: 'library/nginx',
  tag: '1.20',
  distro: {
    kind: 'debian',
    versionId: '11',
    codename: 'bullseye',
    debianVersion: '11.3',
    packages: bullseyePackages,
  },
  cmd: ['nginx', '-g', 'daemon off;'],
};

const alpine: ImageSpec = {
  repository: 'library/alpine',
  tag: '3.18',
  distro: {
    kind: 'alpine',
    release: '3.18.0',
    packages: [
      {
        name: 'musl',
        origin: 'musl',
        version: '1.2.4-r0',
        license: 'MIT',
        url: 'https://musl.libc.org/',
        description: 'the musl c library (libc) implementation',
        maintainer: 'Timo Teräs <timo.teras@iki.fi>',
      },
      {
        name: 'busybox',
        origin: 'busybox',
        version: '1.36.0-r9',
        license: 'GPL-2.0-only',
        url: 'https://busybox.net/',
        description: 'Size optimized toolbox of many common UNIX utilities',
        depends: ['so:libc.musl-x86_64.so.1'],
      },
      {
        name: 'libcrypto3',
        origin: 'openssl',
        version: '3.1.0-r4',
        license: 'Apache-2.0',
        url: 'https://www.openssl.org/',
        description: 'Crypto library from openssl',
        depends: ['so:libc.musl-x86_64.so.1'],
      },
      {
        name: 'libssl3',
        origin: 'openssl',
        version: '3.1.0-r4',
        license: 'Apache-2.0',
        url: 'https://www.openssl.org/',
        description: 'SSL shared libraries',
        depends: ['so:libc.musl-x86_64.so.1', 'so:libcrypto.so.3'],
      },
      {
        name: 'zlib',
        origin: 'zlib',
        version: '1.2.13-r1',
        license: 'Zlib',
        url: 'https://zlib.net/',
        description: 'A compression/decompression Library',
        depends: ['so:libc.musl-x86_64.so.1'],
      },
    ],
  },
};

const clean: ImageSpec = {
  repository: 'library/clean',
  tag: '1.0',
  distro: {
    kind: 'debian',
    versionId: '12',
    codename: 'bookworm',
    debianVersion: '12.5',
    packages: [
      {
        name: 'base-files',
        source: 'base-files',
        version: '12.4+deb12u5',
        section: 'admin',
        priority: 'required',
        essential: true,
        installedSize: 340,
        maintainer: 'Santiago Vila <sanvila@debian.org>',
        description: 'Debian base system miscellaneous files',
      },
      // Real bookworm marks this binNMU as `Source: bash (5.2.15-2)`; left out so
      // the fixture DB sees exactly 5.2.15-2+b2.
      {
        name: 'bash',
        source: 'bash',
        version: '5.2.15-2+b2',
        section: 'shells',
        priority: 'required',
        essential: true,
        installedSize: 7164,
        maintainer: 'Matthias Klose <doko@debian.org>',
        description: 'GNU Bourne Again SHell',
      },
    ],
  },
};

/**
 * A made-up AWS key pair, assembled here so that no key-shaped literal sits in the repository
 * (AWS's documented EXAMPLE keys would not do: trivy's allow rules skip them).
 */
function fakeAwsCredentials(): string {
  const keyId = ['AKIA', '2E0A8F3B', '244C9986'].join('');
  const secretKey = ['7CE556A3BC234CC1', 'FF9E8A5C324C0BB7', '0AA21B6D'].join('');
  return `[default]\naws_access_key_id = ${keyId}\naws_secret_access_key = ${secretKey}\n`;
}

/**
 * A made-up JWT (trivy's jwt-token rule) for the image config. trivy prints the config's Env
 * unredacted in its JSON (Metadata.ImageConfig), so this one is visibly a test token when decoded
 * rather than a provider's key format that secret scanners would flag in the captured fixtures.
 */
function fakeJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signature = Buffer.from('signature-of-a-made-up-token').toString('base64url');
  return [
    part({ alg: 'HS256', typ: 'JWT' }),
    part({ sub: 'fleetscan-test-image', iss: 'fleetscan' }),
    signature,
  ].join('.');
}

/**
 * alpine:3.18 plus a planted credentials file, for trivy's secret scanner (aws-access-key-id,
 * aws-secret-access-key), and a token in the image config's Env, for its image-config secret
 * scanner (`--image-config-scanners secret`: jwt-token, reported under the image's own name).
 */
const secret: ImageSpec = {
  ...alpine,
  repository: 'library/secret',
  tag: '1.0',
  files: { 'app/credentials': fakeAwsCredentials() },
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `API_TOKEN=${fakeJwt()}`],
};

/**
 * The project's own images: nginx and alpine carry known-vulnerable packages, clean carries none,
 * secret is alpine with a planted (fake) AWS key pair.
 */
export const testImages = { nginx, alpine, clean, secret } as const satisfies Record<string, ImageSpec>;

export type TestImageName = keyof typeof testImages;

export interface PushedTestImage {
  /** `repository:tag`, e.g. `library/nginx:1.20`. */
  name: string;
  /** e.g. `127.0.0.1:5000/library/nginx:1.20` */
  ref: string;
  /** Manifest digest; `${host}/${repository}@${digest}` pins the image. */
  digest: string;
}

/**
 * Builds and pushes every test image, in `testImages` order. `auth` defaults
 * to the registry's own credentials, so a started htpasswd registry works as is.
 */
export async function pushTestImages(
  registry: { url: string; host: string; auth?: RegistryAuth },
  auth: RegistryAuth | undefined = registry.auth,
): Promise<PushedTestImage[]> {
  const client = createRegistryClient({ url: registry.url, ...(auth ? { auth } : {}) });
  const pushed: PushedTestImage[] = [];
  // One at a time: they share nothing worth parallelising and the machine is small.
  for (const spec of Object.values(testImages)) {
    const { repository, tag, digest } = await client.pushImage(await buildImage(spec));
    pushed.push({ name: `${repository}:${tag}`, ref: `${registry.host}/${repository}:${tag}`, digest });
  }
  return pushed;
}
