import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildLayer, LAYER_MTIME, layerEntries } from './layer.ts';

async function readTar(tar: Buffer) {
  const ex = extract();
  const entries: { name: string; type: string; mode: number; mtime: number; content: string }[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
      const h = entry.header;
      entries.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        mtime: h.mtime.getTime(),
        content: Buffer.concat(chunks).toString(),
      });
    }
  })();
  ex.end(tar);
  await done;
  return entries;
}

describe('layerEntries', () => {
  it('adds every parent directory once and sorts parents before children', () => {
    const entries = layerEntries({
      'var/lib/dpkg/status': 'x',
      '/etc/os-release': 'y',
      'etc/debian_version': 'z',
    });
    expect(entries.map((e) => `${e.type[0]} ${e.path}`)).toEqual([
      'd etc',
      'f etc/debian_version',
      'f etc/os-release',
      'd var',
      'd var/lib',
      'd var/lib/dpkg',
      'f var/lib/dpkg/status',
    ]);
  });

  it('rejects paths that escape the root or collide with a directory', () => {
    expect(() => layerEntries({ '../etc/passwd': 'x' })).toThrow(/invalid layer path/);
    expect(() => layerEntries({ 'etc//x': 'x' })).toThrow(/invalid layer path/);
    expect(() => layerEntries({ etc: 'x', 'etc/os-release': 'y' })).toThrow(/both a file and a directory/);
  });
});

describe('buildLayer', () => {
  const files = { 'etc/os-release': 'ID=debian\n', 'app/secret.txt': Buffer.from('AKIA...') };

  it('is reproducible: same files, same bytes and digests', async () => {
    const a = await buildLayer(files);
    const b = await buildLayer({ 'app/secret.txt': Buffer.from('AKIA...'), 'etc/os-release': 'ID=debian\n' });
    expect(b.gzip.equals(a.gzip)).toBe(true);
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);
  });

  it('diff_id is the digest of the uncompressed tar, digest that of the gzip', async () => {
    const layer = await buildLayer(files);
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    expect(layer.diffId).toBe(sha(gunzipSync(layer.gzip)));
    expect(layer.digest).toBe(sha(layer.gzip));
    expect(layer.diffId).not.toBe(layer.digest);
    expect(layer.size).toBe(layer.gzip.byteLength);
    // gzip header: no mtime, OS byte pinned
    expect([...layer.gzip.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('writes directories and files with fixed metadata', async () => {
    const entries = await readTar((await buildLayer(files)).tar);
    expect(entries).toEqual([
      { name: 'app/', type: 'directory', mode: 0o755, mtime: LAYER_MTIME.getTime(), content: '' },
      { name: 'app/secret.txt', type: 'file', mode: 0o644, mtime: LAYER_MTIME.getTime(), content: 'AKIA...' },
      { name: 'etc/', type: 'directory', mode: 0o755, mtime: LAYER_MTIME.getTime(), content: '' },
      {
        name: 'etc/os-release',
        type: 'file',
        mode: 0o644,
        mtime: LAYER_MTIME.getTime(),
        content: 'ID=debian\n',
      },
    ]);
  });

  it('different content gives a different digest', async () => {
    const a = await buildLayer(files);
    const b = await buildLayer({ ...files, 'etc/os-release': 'ID=alpine\n' });
    expect(b.digest).not.toBe(a.digest);
  });
});
