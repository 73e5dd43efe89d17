import { createHash } from 'node:crypto';

export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/**
 * Docker schema 2 is the default: distribution 2.8 and every trivy version
 * handle it, while some older tooling still trips over OCI media types.
 */
export type ManifestFormat = 'docker' | 'oci';

const mediaTypes = {
  docker: {
    manifest: MediaType.DockerManifest,
    config: MediaType.DockerConfig,
    layer: MediaType.DockerLayerGzip,
  },
  oci: { manifest: MediaType.OciManifest, config: MediaType.OciConfig, layer: MediaType.OciLayerGzip },
} as const;

export function mediaTypesFor(format: ManifestFormat): (typeof mediaTypes)[ManifestFormat] {
  return mediaTypes[format];
}

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
}

/** A descriptor together with the exact bytes it describes. */
export interface ContentBlob extends Descriptor {
  bytes: Buffer;
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function contentBlob(mediaType: string, bytes: Buffer): ContentBlob {
  return { mediaType, size: bytes.byteLength, digest: sha256Digest(bytes), bytes };
}

export function descriptorOf(blob: Descriptor): Descriptor {
  return { mediaType: blob.mediaType, size: blob.size, digest: blob.digest };
}

export interface HistoryEntry {
  created: string;
  created_by: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfigInput {
  /** sha256 of each *uncompressed* layer tar, bottom layer first. */
  diffIds: readonly string[];
  /** RFC 3339; fixed by callers so the config digest is reproducible. */
  created: string;
  history: readonly HistoryEntry[];
  env?: readonly string[];
  cmd?: readonly string[];
  labels?: Readonly<Record<string, string>>;
  architecture?: string;
  os?: string;
}

export function buildImageConfig(input: ImageConfigInput, format: ManifestFormat = 'docker'): ContentBlob {
  const config = {
    architecture: input.architecture ?? 'amd64',
    os: input.os ?? 'linux',
    created: input.created,
    config: {
      Env: [...(input.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'])],
      Cmd: [...(input.cmd ?? ['/bin/sh'])],
      ...(input.labels ? { Labels: { ...input.labels } } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [...input.diffIds] },
    history: input.history.map((h) => ({ ...h })),
  };
  return contentBlob(mediaTypesFor(format).config, Buffer.from(JSON.stringify(config)));
}

export function buildManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
  format: ManifestFormat = 'docker',
): ContentBlob {
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypesFor(format).manifest,
    config: descriptorOf(config),
    layers: layers.map(descriptorOf),
  };
  return contentBlob(manifest.mediaType, Buffer.from(JSON.stringify(manifest)));
}
