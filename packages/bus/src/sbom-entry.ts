import {
  ExposedSecretSchema,
  ImageConfigScannerSchema,
  ImageScannerSchema,
  OSSchema,
  ScannerSchema,
} from '@fleetscan/reports';
import { z } from 'zod';

/**
 * One analysis of an image, stored once per (digest, analysis settings, access) under
 * `sbom/…` (the scanner's cache-keys.ts): everything a re-match needs without the image. It holds
 * no credentials and nothing about who asked: only what trivy found in the image. The scanner
 * writes it; a writer reads its SBOM for SbomReports (an image result's `sbomBlob`).
 */
export const SbomEntrySchema = z.object({
  v: z.literal(1),
  digest: z.string(),
  /** The reference trivy was given: it names secrets found in the image config. */
  image: z.string().optional(),
  scanners: z.array(ImageScannerSchema),
  imageConfigScanners: z.array(ImageConfigScannerSchema).optional(),
  skipFiles: z.array(z.string()).optional(),
  skipDirs: z.array(z.string()).optional(),
  analysedAt: z.iso.datetime({ offset: true }),
  /**
   * When this entry was last written. The object store drops what is older than its TTL, so an
   * entry still in use is written again now and then (see SBOM_REFRESH_MS in the scanner's image-scan.ts).
   */
  storedAt: z.iso.datetime({ offset: true }),
  /** The trivy that analysed it. */
  scanner: ScannerSchema,
  os: OSSchema,
  /** CycloneDX JSON from `trivy convert`, without findings. */
  sbom: z.string(),
  /** Unfiltered; present when the secret scanner ran. Secrets do not depend on the DB. */
  secrets: z.array(ExposedSecretSchema).optional(),
});
export type SbomEntry = z.infer<typeof SbomEntrySchema>;

/**
 * The SBOM of one analysis as a cluster's writer reads it for SbomReports: a copy of the entry's
 * SBOM, and who made it when, put into that cluster's results bucket (writers may not read the shared
 * cache). Nothing else of the entry: its secrets are unfiltered, and a cluster gets only the secrets
 * its own settings let through, in its result.
 */
export const ImageSbomSchema = z.object({
  v: z.literal(1),
  digest: z.string(),
  analysedAt: z.iso.datetime({ offset: true }),
  scanner: ScannerSchema,
  /** CycloneDX JSON from `trivy convert`, without findings. */
  sbom: z.string(),
});
export type ImageSbom = z.infer<typeof ImageSbomSchema>;
