import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256Digest } from './oci.ts';

export type FileContent = string | Uint8Array;
export type LayerFiles = Readonly<Record<string, FileContent>>;

export interface LayerEntry {
  /** Relative path without leading or trailing slash, e.g. `var/lib/dpkg/status`. */
  path: string;
  type: 'directory' | 'file';
  content?: Buffer;
}

export interface Layer {
  tar: Buffer;
  gzip: Buffer;
  /** sha256 of the uncompressed tar: what goes into the config's rootfs.diff_ids. */
  diffId: string;
  /** sha256 of the gzip'd tar: what the manifest and the registry address the blob by. */
  digest: string;
  size: number;
}

/** Fixed so identical file sets always give identical digests. */
export const LAYER_MTIME = new Date('2024-01-01T00:00:00Z');

/**
 * Normalises paths, adds every parent directory as its own entry (real image
 * layers carry them and some analyzers expect them), and sorts. Plain string
 * order puts each directory before its children since a prefix sorts first.
 */
export function layerEntries(files: LayerFiles): LayerEntry[] {
  const entries = new Map<string, LayerEntry>();
  for (const [raw, content] of Object.entries(files)) {
    const path = normalizePath(raw);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const existing = entries.get(dir);
      if (existing?.type === 'file') throw new Error(`layer path ${dir} is both a file and a directory`);
      entries.set(dir, { path: dir, type: 'directory' });
    }
    if (entries.get(path)?.type === 'directory')
      throw new Error(`layer path ${path} is both a file and a directory`);
    entries.set(path, { path, type: 'file', content: Buffer.from(content) });
  }
  return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function normalizePath(raw: string): string {
  const path = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  const parts = path.split('/');
  if (path === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`invalid layer path: ${JSON.stringify(raw)}`);
  }
  return path;
}

export async function buildTar(entries: readonly LayerEntry[], mtime: Date = LAYER_MTIME): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of tar) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  // Every header field is set explicitly; tar-stream would otherwise fill in
  // the current time, which breaks reproducible digests.
  const common = {
    mtime,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  };
  for (const e of entries) {
    if (e.type === 'directory') {
      // Trailing slash as GNU tar and docker write it; tar-stream does not add one.
      tar.entry({ ...common, name: `${e.path}/`, type: 'directory', mode: 0o755, size: 0 });
    } else {
      const content = e.content ?? Buffer.alloc(0);
      tar.entry({ ...common, name: e.path, type: 'file', mode: 0o644, size: content.byteLength }, content);
    }
  }
  tar.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/**
 * zlib's gzip header has mtime 0 already; the OS byte is pinned as well so a
 * different zlib build cannot change the compressed digest.
 */
export function gzipDeterministic(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9 });
  gz[9] = 3; // OS = Unix
  return gz;
}

export async function buildLayer(files: LayerFiles, mtime: Date = LAYER_MTIME): Promise<Layer> {
  const tar = await buildTar(layerEntries(files), mtime);
  const gzip = gzipDeterministic(tar);
  return { tar, gzip, diffId: sha256Digest(tar), digest: sha256Digest(gzip), size: gzip.byteLength };
}
