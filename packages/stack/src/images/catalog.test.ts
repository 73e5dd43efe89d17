import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildImage } from './build.ts';
import { testImages } from './catalog.ts';

async function filesOf(gz: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
      if (entry.header.type === 'file') files.set(entry.header.name, Buffer.concat(chunks).toString());
    }
  })();
  ex.end(gunzipSync(gz));
  await done;
  return files;
}

/** Minimal dpkg status reader: `name / source / version`, source defaulting to the package. */
function dpkgTriples(status: string): string[] {
  return status
    .split('\n\n')
    .filter((s) => s.trim() !== '')
    .map((stanza) => {
      const field = (k: string) => stanza.match(new RegExp(`^${k}: (.*)$`, 'm'))?.[1];
      const name = field('Package');
      const source = field('Source')?.replace(/ \(.*\)$/, '') ?? name;
      return `${name} / ${source} / ${field('Version')}`;
    })
    .sort();
}

function apkTriples(db: string): string[] {
  return db
    .split('\n\n')
    .filter((s) => s.trim() !== '')
    .map((r) => {
      const field = (k: string) => r.match(new RegExp(`^${k}:(.*)$`, 'm'))?.[1];
      return `${field('P')} / ${field('o')} / ${field('V')}`;
    })
    .sort();
}

// Must stay in step with the vulnerability DB fixture.
describe('test image catalog', () => {
  it('library/nginx:1.20 is Debian 11 with exactly the fixture packages', async () => {
    const image = await buildImage(testImages.nginx);
    expect(`${image.repository}:${image.tag}`).toBe('library/nginx:1.20');
    const files = await filesOf(image.layers[0]!.bytes);
    expect(files.get('etc/os-release')).toMatch(/^ID=debian$/m);
    expect(files.get('etc/os-release')).toMatch(/^VERSION_ID="11"$/m);
    expect(files.get('etc/os-release')).toMatch(/^VERSION_CODENAME=bullseye$/m);
    expect(files.get('etc/debian_version')).toBe('11.3\n');
    expect(dpkgTriples(files.get('var/lib/dpkg/status')!)).toEqual(
      [
        'curl / curl / 7.74.0-1.3+deb11u1',
        'libcurl4 / curl / 7.74.0-1.3+deb11u1',
        'openssl / openssl / 1.1.1k-1+deb11u1',
        'libssl1.1 / openssl / 1.1.1k-1+deb11u1',
        'zlib1g / zlib / 1:1.2.11.dfsg-2',
        'apt / apt / 2.2.4',
        'libc6 / glibc / 2.31-13+deb11u2',
        'bash / bash / 5.1-2+deb11u1',
        'base-files / base-files / 11.1+deb11u3',
        'nginx / nginx / 1.20.2-1~bullseye',
        'tzdata / tzdata / 2021a-1+deb11u4',
      ].sort(),
    );
    // No binNMU-style source versions: the fixture matches on these exact versions.
    expect(files.get('var/lib/dpkg/status')).not.toMatch(/^Source: .* \(/m);
  });

  it('library/alpine:3.18 is Alpine 3.18.0 with exactly the fixture packages', async () => {
    const image = await buildImage(testImages.alpine);
    expect(`${image.repository}:${image.tag}`).toBe('library/alpine:3.18');
    const files = await filesOf(image.layers[0]!.bytes);
    expect(files.get('etc/alpine-release')).toBe('3.18.0\n');
    expect(files.get('etc/os-release')).toMatch(/^ID=alpine$/m);
    expect(apkTriples(files.get('lib/apk/db/installed')!)).toEqual(
      [
        'musl / musl / 1.2.4-r0',
        'busybox / busybox / 1.36.0-r9',
        'libcrypto3 / openssl / 3.1.0-r4',
        'libssl3 / openssl / 3.1.0-r4',
        'zlib / zlib / 1.2.13-r1',
      ].sort(),
    );
  });

  it('library/clean:1.0 is Debian 12 with two packages', async () => {
    const image = await buildImage(testImages.clean);
    expect(`${image.repository}:${image.tag}`).toBe('library/clean:1.0');
    const files = await filesOf(image.layers[0]!.bytes);
    expect(files.get('etc/os-release')).toMatch(/^VERSION_CODENAME=bookworm$/m);
    expect(files.get('etc/debian_version')).toBe('12.5\n');
    expect(dpkgTriples(files.get('var/lib/dpkg/status')!)).toEqual([
      'base-files / base-files / 12.4+deb12u5',
      'bash / bash / 5.2.15-2+b2',
    ]);
  });

  it('library/secret:1.0 is the alpine image plus a made-up AWS key pair', async () => {
    const image = await buildImage(testImages.secret);
    expect(`${image.repository}:${image.tag}`).toBe('library/secret:1.0');
    const files = await filesOf(image.layers[0]!.bytes);
    expect(files.get('etc/alpine-release')).toBe('3.18.0\n');
    const creds = files.get('app/credentials') ?? '';
    expect(creds).toMatch(/^aws_access_key_id = AKIA[0-9A-Z]{16}$/m);
    expect(creds).toMatch(/^aws_secret_access_key = [0-9A-Za-z/+]{40}$/m);
    // Not one of AWS's documented examples, which trivy's allow rules skip.
    expect(creds).not.toContain('EXAMPLE');
    // And a made-up JWT in the config's Env, for trivy's image-config secret scanner.
    const config = JSON.parse(image.config.bytes.toString()) as { config: { Env: string[] } };
    const token = config.config.Env.find((e) => e.startsWith('API_TOKEN='))?.slice('API_TOKEN='.length) ?? '';
    const [, payload] = token.split('.');
    expect(JSON.parse(Buffer.from(payload ?? '', 'base64url').toString())).toEqual({
      sub: 'fleetscan-test-image',
      iss: 'fleetscan',
    });
  });

  it('the images have distinct, stable digests', async () => {
    const digests = await Promise.all(
      Object.values(testImages).map(async (s) => (await buildImage(s)).digest),
    );
    expect(new Set(digests).size).toBe(Object.keys(testImages).length);
    const again = await Promise.all(Object.values(testImages).map(async (s) => (await buildImage(s)).digest));
    expect(again).toEqual(digests);
  });
});
