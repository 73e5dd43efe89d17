import { z } from 'zod';

/**
 * The image scanners fleetscan runs (trivy's `--scanners` values): `vuln` fills a container's
 * VulnerabilityReport, `secret` its ExposedSecretReport. A cluster configures them, requests
 * carry them, trivy is run with them and the scanner's cache is keyed by them.
 */
export const IMAGE_SCANNERS = ['vuln', 'secret'] as const;
export const ImageScannerSchema = z.enum(IMAGE_SCANNERS);
export type ImageScanner = z.infer<typeof ImageScannerSchema>;

/**
 * What trivy looks for in the image's config (`--image-config-scanners`; trivy also allows
 * `misconfig`, which fleetscan does not report). `secret` finds credentials in Env, labels and
 * the build history; trivy reports them under the target `config.json`, in the ExposedSecretReport.
 */
export const IMAGE_CONFIG_SCANNERS = ['secret'] as const;
export const ImageConfigScannerSchema = z.enum(IMAGE_CONFIG_SCANNERS);
export type ImageConfigScanner = z.infer<typeof ImageConfigScannerSchema>;

/**
 * trivy-operator scans the image config for secrets whenever its exposed-secret scanner is on
 * (pkg/plugins/trivy imageConfigSecretScanner: `--image-config-scanners secret` iff
 * OPERATOR_EXPOSED_SECRET_SCANNER_ENABLED); fleetscan does the same with its `secret` scanner.
 */
export function imageConfigScannersFor(scanners: readonly ImageScanner[]): ImageConfigScanner[] {
  return scanners.includes('secret') ? ['secret'] : [];
}
