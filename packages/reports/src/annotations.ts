/**
 * fleetscan's own annotations on the reports it writes (trivy-operator's label and annotation
 * names are in naming.ts). The writer sets them; the watcher and the writer read them back.
 */

/** Hash of a report's findings, so an unchanged rewrite is skipped. */
export const ANNOTATION_CONTENT_HASH = 'fleetscan.io/content-hash';
/** The scan settings hash a vulnerability report was produced with (scanConfigHash in @fleetscan/bus). */
export const ANNOTATION_SCAN_CONFIG_HASH = 'fleetscan.io/scan-config-hash';
/** The trivy DB version (metadata UpdatedAt) a vulnerability report was matched against. */
export const ANNOTATION_DB_UPDATED_AT = 'fleetscan.io/db-updated-at';
/**
 * Set by writers before failed scans stopped making reports (a report with no findings and this
 * annotation, e.g. `UNAUTHORIZED: …`). It looks clean: the watcher counts such a report as missing
 * and the writer deletes it at the image's next failure. Read only, never written any more.
 */
export const ANNOTATION_SCAN_ERROR = 'fleetscan.io/scan-error';
/**
 * report.updateTimestamp and, for vulnerability reports, report.artifact.digest, copied into
 * metadata: a watcher that lists reports metadata-only (PartialObjectMetadata) still knows when a
 * report expires and which digest it describes, without receiving every finding of every report.
 */
export const ANNOTATION_UPDATED_AT = 'fleetscan.io/updated-at';
export const ANNOTATION_IMAGE_DIGEST = 'fleetscan.io/image-digest';
/** How many findings were left out so the report fits the API server's size limit. */
export const ANNOTATION_OMITTED_FINDINGS = 'fleetscan.io/omitted-findings';
/** How many SBOM components were left out so an SbomReport fits the API server's size limit. */
export const ANNOTATION_OMITTED_COMPONENTS = 'fleetscan.io/omitted-components';
