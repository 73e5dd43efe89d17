import {
  AdditionalVulnerabilityFieldSchema,
  CheckSchema,
  ExposedSecretSchema,
  ImageScannerSchema,
  ScannerSchema,
  VulnerabilityReportDataSchema,
} from '@fleetscan/reports';
import { z } from 'zod';
import { OwnerFilterSchema } from './owner-filter.ts';
import { ScanSettingsSchema } from './scan-settings.ts';
import { SealedSchema } from './seal.ts';

/**
 * The messages on fleetscan's subjects. Every message is JSON with a schema
 * version `v`; a consumer that cannot parse one terminates it (poison) and
 * counts it instead of retrying forever.
 */

export const OwnerRefSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  namespace: z.string(),
  name: z.string().min(1),
  uid: z.string().min(1),
});
export type OwnerRef = z.infer<typeof OwnerRefSchema>;

const Timestamp = z.iso.datetime({ offset: true });

export const ImageScanRequestSchema = z.object({
  v: z.literal(1),
  cluster: z.string().min(1),
  /** The image exactly as the pod spec names it. */
  image: z.string().min(1),
  /**
   * The namespace whose workloads this request is for: results are fanned out within it only, so a
   * tenant never receives a report produced with another tenant's pull secrets (or their absence).
   */
  namespace: z.string(),
  /** Absent: for every owner in the namespace; else those it names (settings that differ per workload). */
  ownerFilter: OwnerFilterSchema.optional(),
  /** `sha256:…` when known (pod status imageID, or the digest of the report being refreshed): no registry lookup. */
  digest: z.string().optional(),
  scanners: z.array(ImageScannerSchema).min(1),
  settings: ScanSettingsSchema.default({}),
  /** scanConfigHash (scan-settings.ts) of scanners + settings, echoed in the result; the scanner does not trust it. */
  scanConfigHash: z.string(),
  /** A cached result scanned before this instant is stale (TTL refresh): re-match it from its SBOM. */
  notBefore: Timestamp.optional(),
  /** Registry credentials from the workload's pull secrets, sealed for the scanner fleet's key. */
  credentials: SealedSchema.optional(),
  requestedAt: Timestamp,
});
export type ImageScanRequest = z.infer<typeof ImageScanRequestSchema>;

/** A workload manifest reduced to what a config audit reads. */
export const ManifestSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
});

export const ConfigAuditRequestSchema = z.object({
  v: z.literal(1),
  cluster: z.string().min(1),
  owner: OwnerRefSchema,
  specHash: z.string(),
  pluginConfigHash: z.string(),
  manifest: ManifestSchema,
  requestedAt: Timestamp,
});
export type ConfigAuditRequest = z.infer<typeof ConfigAuditRequestSchema>;

export const ScanErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** A permanent failure (image not found, unauthorized, invalid reference) is not retried. */
  permanent: z.boolean(),
});
export type ScanError = z.infer<typeof ScanErrorSchema>;

/**
 * What an image scan produced, independent of any workload: stored once per
 * digest in the object store (the shared cache) and fanned out by writers.
 */
export const ImageScanDataSchema = VulnerabilityReportDataSchema.omit({
  summary: true,
  updateTimestamp: true,
}).extend({
  /** Present when secret scanning was asked for (an empty list means none found). */
  secrets: z.array(ExposedSecretSchema).optional(),
  /** When trivy analysed the image, or re-matched its SBOM against a newer DB. */
  scannedAt: Timestamp,
  dbUpdatedAt: z.string(),
});
export type ImageScanData = z.infer<typeof ImageScanDataSchema>;

export const ImageScanResultSchema = z.object({
  v: z.literal(1),
  cluster: z.string().min(1),
  image: z.string().min(1),
  /** Echo of the request's namespace: the writer applies the result to owners there only. */
  namespace: z.string(),
  /** Echo of the request's owner filter: the writer applies the result to those owners only. */
  ownerFilter: OwnerFilterSchema.optional(),
  scanConfigHash: z.string(),
  /** Echo of the request's report settings (canonical): which additional fields reports show. */
  reportFields: z.array(AdditionalVulnerabilityFieldSchema).optional(),
  digest: z.string().optional(),
  status: z.enum(['ok', 'error']),
  /** Object store key of the ImageScanData (status ok). */
  blob: z.string().optional(),
  /** Whether the scanner answered from its cache without running trivy. */
  cached: z.boolean(),
  /** The scan's time (ImageScanData.scannedAt): writers never replace a newer report with an older scan. */
  scannedAt: Timestamp.optional(),
  error: ScanErrorSchema.optional(),
  finishedAt: Timestamp,
});
export type ImageScanResult = z.infer<typeof ImageScanResultSchema>;

export const ConfigAuditDataSchema = z.object({
  scanner: ScannerSchema,
  checks: z.array(CheckSchema),
  scannedAt: Timestamp,
});
export type ConfigAuditData = z.infer<typeof ConfigAuditDataSchema>;

export const ConfigAuditResultSchema = z.object({
  v: z.literal(1),
  cluster: z.string().min(1),
  owner: OwnerRefSchema,
  specHash: z.string(),
  pluginConfigHash: z.string(),
  status: z.enum(['ok', 'error']),
  /** Inline when small; otherwise `blob` names an object store key holding ConfigAuditData. */
  data: ConfigAuditDataSchema.optional(),
  blob: z.string().optional(),
  error: ScanErrorSchema.optional(),
  finishedAt: Timestamp,
});
export type ConfigAuditResult = z.infer<typeof ConfigAuditResultSchema>;
