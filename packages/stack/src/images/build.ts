import { type DistroSpec, distroFiles } from './distro.ts';
import { buildLayer, type LayerFiles } from './layer.ts';
import {
  buildImageConfig,
  buildManifest,
  type ContentBlob,
  type ManifestFormat,
  mediaTypesFor,
} from './oci.ts';

export interface ImageSpec {
  /** Repository inside the registry, e.g. `library/nginx`. */
  repository: string;
  tag: string;
  distro: DistroSpec;
  /** Extra files (e.g. a planted secret); they win over the distro files on the same path. */
  files?: LayerFiles;
  format?: ManifestFormat;
  /** RFC 3339; fixed by default so digests are reproducible. */
  created?: string;
  cmd?: readonly string[];
  /** The config's Env; the default is a plain PATH. */
  env?: readonly string[];
}

export interface LayerBlob extends ContentBlob {
  diffId: string;
}

export interface BuiltImage {
  repository: string;
  tag: string;
  config: ContentBlob;
  layers: readonly LayerBlob[];
  manifest: ContentBlob;
  /** The manifest digest, i.e. what `repo@sha256:...` resolves. */
  digest: string;
}

export const DEFAULT_CREATED = '2024-01-01T00:00:00Z';

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? 'docker';
  const types = mediaTypesFor(format);
  const created = spec.created ?? DEFAULT_CREATED;
  const layer = await buildLayer({ ...distroFiles(spec.distro), ...spec.files });
  const layerBlob: LayerBlob = {
    mediaType: types.layer,
    size: layer.size,
    digest: layer.digest,
    bytes: layer.gzip,
    diffId: layer.diffId,
  };
  const config = buildImageConfig(
    {
      diffIds: [layer.diffId],
      created,
      history: [{ created, created_by: `fleetscan test image ${spec.repository}:${spec.tag}: ADD rootfs /` }],
      cmd: spec.cmd,
      ...(spec.env && { env: spec.env }),
    },
    format,
  );
  const manifest = buildManifest(config, [layerBlob], format);
  return {
    repository: spec.repository,
    tag: spec.tag,
    config,
    layers: [layerBlob],
    manifest,
    digest: manifest.digest,
  };
}
