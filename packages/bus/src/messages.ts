import {
  AdditionalVulnerabilityFieldSchema,
  AUDIT_REPORT_KINDS,
  CheckSchema,
  ExposedSecretSchema,
  ImageScannerSchema,
  ScannerSchema,
  VulnerabilityReportDataSchema,
} from '@fleetscan/reports';
import { z } from 'zod';
import { ConfigAuditSettingsSchema } from './config-audit-settings.ts';
import { OwnerFilterSchema } from './owner-filter.ts';
import { ScanSettingsSchema } from './scan-settings.ts';
import { SealedSchema } from './seal.ts';
import { CLUSTER_NAME_PATTERN, clusterOf } from './subjects.ts';

/**
 * The messages on fleetscan's subjects. Every message is JSON with a schema
 * version `v`; a consumer that cannot parse one terminates it (poison) and
 * counts it instead of retrying forever.
 *
 * Every field is limited here, so a message that can never succeed (a 900 KB image reference, a
 * result from the future) is terminated at its first delivery instead of being retried, logged
 * and published at its full size: the limits are what Kubernetes and the OCI distribution spec
 * allow, and a value past them names nothing that exists.
 */

/**
 * An image reference as a pod spec holds it: `[registry[:port]/]name[:tag][@digest]`. The OCI
 * distribution spec (spec.md, "Pulling manifests") notes that many clients limit registry
 * hostname and port, `/` and `<name>` together to 255 characters (docker's reference package
 * enforces it), and a tag MUST be at most 128 characters (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
 * The longest registered digest is `sha512:` and 128 hex digits (OCI image spec, descriptor.md).
 * 255 + `:` + 128 + `@` + 7 + 128 = 520.
 */
export const MAX_IMAGE_REF_LENGTH = 255 + 1 + 128 + 1 + 7 + 128;
/** `<algorithm>:<hex>`, sha512 at most (see above). */
export const MAX_DIGEST_LENGTH = 7 + 128;
/** Kubernetes: DNS-1123 subdomain (most object names) and label (namespaces) lengths. */
export const MAX_NAME_LENGTH = 253;
export const MAX_NAMESPACE_LENGTH = 63;
/** A ScanError's message; the scanner cuts longer ones (its cause can quote a whole registry answer). */
export const MAX_ERROR_MESSAGE_LENGTH = 4000;
/**
 * How far ahead of the reader's clock a time that steers a decision may be: clock skew between
 * hosts (kept far below by NTP). A finishedAt in the future kept the writer retrying "owner not
 * seen yet" without end, and a future scan time would make a report that nothing replaces.
 */
export const MAX_CLOCK_SKEW_MS = 2 * 60_000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const Text = (max: number) => z.string().max(max);
const Hash = z.string().max(64);
const Cluster = z.string().regex(CLUSTER_NAME_PATTERN, 'a DNS label of at most 63 characters');
/** Empty for cluster-scoped owners. */
const Namespace = z
  .string()
  .max(MAX_NAMESPACE_LENGTH)
  .refine((s) => s === '' || DNS_LABEL.test(s), 'a DNS label');
const Image = z.string().min(1).max(MAX_IMAGE_REF_LENGTH);
const Digest = z
  .string()
  .max(MAX_DIGEST_LENGTH)
  .regex(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'an OCI digest');
const BlobKey = z.string().min(1).max(1024);
/** The reports a config audit is for (@fleetscan/reports auditReports), echoed in its result. */
const AuditReportKinds = z.array(z.enum(AUDIT_REPORT_KINDS)).min(1).max(AUDIT_REPORT_KINDS.length);

/**
 * A config request's manifest larger than this goes to the object store and the request names it
 * (`manifestBlob`): a ConfigMap or a CRD can hold up to 1 MiB, NATS's default max_payload.
 */
export const MAX_INLINE_MANIFEST_BYTES = 256 * 1024;
const Timestamp = z.iso.datetime({ offset: true }).max(64);

/**
 * The schemas, with `now` for the times that steer decisions (finishedAt, scannedAt, notBefore):
 * those may not be later than now + MAX_CLOCK_SKEW_MS. The exported schemas use the system clock;
 * a test pins its own.
 */
export function messageSchemas(now: () => number = Date.now) {
  const DecisionTime = Timestamp.refine(
    (s) => Date.parse(s) <= now() + MAX_CLOCK_SKEW_MS,
    `in the future beyond the ${MAX_CLOCK_SKEW_MS / 1000} s of clock skew allowed`,
  );

  const OwnerRefSchema = z.object({
    /** `<group>/<version>`: a DNS subdomain, `/`, a DNS label. */
    apiVersion: z
      .string()
      .min(1)
      .max(MAX_NAME_LENGTH + 1 + 63),
    kind: z.string().min(1).max(63),
    namespace: Namespace,
    name: z.string().min(1).max(MAX_NAME_LENGTH),
    /** A UUID in practice. */
    uid: z.string().min(1).max(128),
  });

  const ImageScanRequestSchema = z.object({
    v: z.literal(1),
    cluster: Cluster,
    /** The image exactly as the pod spec names it. */
    image: Image,
    /**
     * The namespace whose workloads this request is for: results are fanned out within it only, so a
     * tenant never receives a report produced with another tenant's pull secrets (or their absence).
     */
    namespace: Namespace,
    /** Absent: for every owner in the namespace; else those it names (settings that differ per workload). */
    ownerFilter: OwnerFilterSchema.optional(),
    /** `sha256:…` when known (pod status imageID, or the digest of the report being refreshed): no registry lookup. */
    digest: Digest.optional(),
    scanners: z.array(ImageScannerSchema).min(1).max(8),
    settings: ScanSettingsSchema.default({}),
    /** scanConfigHash (scan-settings.ts) of scanners + settings, echoed in the result; the scanner does not trust it. */
    scanConfigHash: Hash,
    /** A cached result scanned before this instant is stale (TTL refresh): re-match it from its SBOM. */
    notBefore: DecisionTime.optional(),
    /** Registry credentials from the workload's pull secrets, sealed for the scanner fleet's key. */
    credentials: SealedSchema.optional(),
    requestedAt: Timestamp,
  });

  /**
   * A manifest reduced to what a config audit reads (its size is bounded by the message's, or by
   * MAX_INLINE_MANIFEST_BYTES before it goes to the object store).
   */
  const ManifestSchema = z.looseObject({
    apiVersion: z.string().max(MAX_NAME_LENGTH + 1 + 63),
    kind: z.string().max(63),
    metadata: z.looseObject({
      name: z.string().max(MAX_NAME_LENGTH),
      namespace: Namespace.optional(),
    }),
  });

  const ConfigAuditRequestSchema = z
    .object({
      v: z.literal(1),
      cluster: Cluster,
      /** namespace '' for a cluster-scoped object. */
      owner: OwnerRefSchema,
      specHash: Hash,
      /** pluginConfigHash (config-audit-settings.ts) of the settings, echoed in the result. */
      pluginConfigHash: Hash,
      /** The manifest to audit, inline; or `manifestBlob`, its object store key, when it is large. */
      manifest: ManifestSchema.optional(),
      manifestBlob: BlobKey.optional(),
      /** Which reports the checks are for; absent: a ConfigAuditReport (the only kind before there were others). */
      reports: AuditReportKinds.optional(),
      /** How the checks are reported; absent in requests of watchers older than this field. */
      settings: ConfigAuditSettingsSchema.default({}),
      requestedAt: Timestamp,
    })
    .refine((r) => (r.manifest === undefined) !== (r.manifestBlob === undefined), {
      message: 'exactly one of manifest and manifestBlob',
    });

  const ScanErrorSchema = z.object({
    code: z.string().max(64),
    message: Text(MAX_ERROR_MESSAGE_LENGTH),
    /** A permanent failure (image not found, unauthorized, invalid reference) is not retried. */
    permanent: z.boolean(),
  });

  /**
   * What an image scan produced, independent of any workload: stored once per
   * digest in the object store (the shared cache) and fanned out by writers.
   */
  const ImageScanDataSchema = VulnerabilityReportDataSchema.omit({
    summary: true,
    updateTimestamp: true,
  }).extend({
    /** Present when secret scanning was asked for (an empty list means none found). */
    secrets: z.array(ExposedSecretSchema).optional(),
    /** When trivy analysed the image, or re-matched its SBOM against a newer DB. */
    scannedAt: DecisionTime,
    /**
     * When trivy analysed the image (its SBOM and secrets), kept by a re-match: the time of what
     * does not depend on the DB. Absent from scanners before it.
     */
    analysedAt: DecisionTime.optional(),
    dbUpdatedAt: Text(64),
  });

  const ImageScanResultSchema = z.object({
    v: z.literal(1),
    cluster: Cluster,
    image: Image,
    /** Echo of the request's namespace: the writer applies the result to owners there only. */
    namespace: Namespace,
    /** Echo of the request's owner filter: the writer applies the result to those owners only. */
    ownerFilter: OwnerFilterSchema.optional(),
    scanConfigHash: Hash,
    /** Echo of the request's report settings (canonical): which additional fields reports show. */
    reportFields: z.array(AdditionalVulnerabilityFieldSchema).max(16).optional(),
    digest: Digest.optional(),
    status: z.enum(['ok', 'error']),
    /**
     * The ImageScanData (status ok), inline when small; otherwise `blob` names its key in the
     * cluster's own results bucket (resultsBucket), which only that cluster's writer may read.
     */
    data: ImageScanDataSchema.optional(),
    blob: BlobKey.optional(),
    /**
     * Key, in this cluster's results bucket, of the SBOM (ImageSbom) of the analysis the result was
     * made from, which a writer turns into SbomReports without another trivy run. Absent from
     * scanners before SbomReports, and when the analysis is gone from the cache.
     */
    sbomBlob: BlobKey.optional(),
    /** Whether the scanner answered from its cache without running trivy. */
    cached: z.boolean(),
    /** The scan's time (ImageScanData.scannedAt): writers never replace a newer report with an older scan. */
    scannedAt: DecisionTime.optional(),
    error: ScanErrorSchema.optional(),
    finishedAt: DecisionTime,
    /**
     * Echo of the request's requestedAt (absent from older scanners): the writer counts a failure
     * of a request made before an image's last recorded failure as part of that round.
     */
    requestedAt: Timestamp.optional(),
  });

  const ConfigAuditDataSchema = z.object({
    scanner: ScannerSchema,
    checks: z.array(CheckSchema),
    scannedAt: DecisionTime,
  });

  const ConfigAuditResultSchema = z.object({
    v: z.literal(1),
    cluster: Cluster,
    owner: OwnerRefSchema,
    specHash: Hash,
    pluginConfigHash: Hash,
    /** The request's `reports`: which reports the checks are written into. */
    reports: AuditReportKinds.optional(),
    status: z.enum(['ok', 'error']),
    /** Inline when small; otherwise `blob` names a key of the cluster's results bucket holding ConfigAuditData. */
    data: ConfigAuditDataSchema.optional(),
    blob: BlobKey.optional(),
    error: ScanErrorSchema.optional(),
    finishedAt: DecisionTime,
  });

  return {
    OwnerRefSchema,
    ImageScanRequestSchema,
    ManifestSchema,
    ConfigAuditRequestSchema,
    ScanErrorSchema,
    ImageScanDataSchema,
    ImageScanResultSchema,
    ConfigAuditDataSchema,
    ConfigAuditResultSchema,
  };
}

const schemas = messageSchemas();

export const OwnerRefSchema = schemas.OwnerRefSchema;
export type OwnerRef = z.infer<typeof OwnerRefSchema>;
export const ImageScanRequestSchema = schemas.ImageScanRequestSchema;
export type ImageScanRequest = z.infer<typeof ImageScanRequestSchema>;
export const ManifestSchema = schemas.ManifestSchema;
export type Manifest = z.infer<typeof ManifestSchema>;
export const ConfigAuditRequestSchema = schemas.ConfigAuditRequestSchema;
export type ConfigAuditRequest = z.infer<typeof ConfigAuditRequestSchema>;
export const ScanErrorSchema = schemas.ScanErrorSchema;
export type ScanError = z.infer<typeof ScanErrorSchema>;
export const ImageScanDataSchema = schemas.ImageScanDataSchema;
export type ImageScanData = z.infer<typeof ImageScanDataSchema>;
export const ImageScanResultSchema = schemas.ImageScanResultSchema;
export type ImageScanResult = z.infer<typeof ImageScanResultSchema>;
export const ConfigAuditDataSchema = schemas.ConfigAuditDataSchema;
export type ConfigAuditData = z.infer<typeof ConfigAuditDataSchema>;
export const ConfigAuditResultSchema = schemas.ConfigAuditResultSchema;
export type ConfigAuditResult = z.infer<typeof ConfigAuditResultSchema>;

/** Refined schemas per base schema and cluster: zod compiles a schema's parser on its first use. */
const bySubjectCluster = new WeakMap<z.ZodType, Map<string, z.ZodType>>();
/** Clusters remembered per schema; past it the memo starts again (a bound, not an expected size). */
const MAX_MEMO_CLUSTERS = 1024;

/**
 * `schema`, for messages read from `subject`: the cluster a message names must be the subject's,
 * the token the sender's permissions allow. A watcher of A publishing, on its own subject, a
 * request naming B would otherwise make a scanner publish a result that B's writer applies.
 * One schema per (schema, cluster), built once: a new refinement per message made zod compile
 * its parser again for every message (~7 % of the scanner's CPU in a cold start's profile).
 */
export function forSubject<T extends { cluster: string }>(
  schema: z.ZodType<T>,
  subject: string,
): z.ZodType<T> {
  const cluster = clusterOf(subject);
  let memo = bySubjectCluster.get(schema);
  if (!memo || memo.size >= MAX_MEMO_CLUSTERS) {
    memo = new Map();
    bySubjectCluster.set(schema, memo);
  }
  let refined = memo.get(cluster) as z.ZodType<T> | undefined;
  if (!refined) {
    refined = schema.refine((m) => m.cluster === cluster, {
      message: `names another cluster than its subject's (${cluster})`,
      path: ['cluster'],
    });
    memo.set(cluster, refined);
  }
  return refined;
}
