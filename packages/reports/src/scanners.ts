import { z } from 'zod';

/**
 * The image scanners fleetscan runs (trivy's `--scanners` values): `vuln` fills a container's
 * VulnerabilityReport, `secret` its ExposedSecretReport. A cluster configures them, requests
 * carry them, trivy is run with them and the scanner's cache is keyed by them.
 */
export const IMAGE_SCANNERS = ['vuln', 'secret'] as const;
export const ImageScannerSchema = z.enum(IMAGE_SCANNERS);
export type ImageScanner = z.infer<typeof ImageScannerSchema>;
