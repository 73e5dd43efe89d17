export { type BuiltImage, buildImage, DEFAULT_CREATED, type ImageSpec, type LayerBlob } from './build.ts';
export { type PushedTestImage, pushTestImages, type TestImageName, testImages } from './catalog.ts';
export {
  type AlpineSpec,
  type ApkPackage,
  type DebianSpec,
  type DistroSpec,
  type DpkgPackage,
  distroFiles,
  renderApkInstalled,
  renderDpkgStatus,
} from './distro.ts';
export {
  buildLayer,
  type FileContent,
  LAYER_MTIME,
  type Layer,
  type LayerFiles,
  layerEntries,
} from './layer.ts';
export {
  buildImageConfig,
  buildManifest,
  type ContentBlob,
  type Descriptor,
  type ManifestFormat,
  MediaType,
  sha256Digest,
} from './oci.ts';
export {
  createRegistryClient,
  type FetchedManifest,
  isRegistryError,
  type PushResult,
  pushImage,
  type RegistryAuth,
  type RegistryClient,
  type RegistryEndpoint,
  RegistryError,
} from './push.ts';
