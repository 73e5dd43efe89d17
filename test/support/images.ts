import { buildImage, type ImageSpec, pushImage, type StackInfo } from '@fleetscan/stack';

/**
 * Pushes `base` under a new repository and tag with one file that makes its
 * digest unique to this test run, so its scans can be counted.
 */
export async function pushUniqueImage(
  stack: StackInfo,
  base: ImageSpec,
  repository: string,
  tag: string,
  marker: string,
): Promise<string> {
  const spec = { ...base, repository, tag, files: { 'etc/fleetscan-test': `${marker}-${tag}\n` } };
  await pushImage({ url: stack.registry.url }, await buildImage(spec));
  return `${stack.registry.host}/${repository}:${tag}`;
}
