/**
 * @fleetscan/reports: trivy-operator-compatible report shapes, names, labels, annotations, hashes
 * and summaries; which reports an owner has; ClusterComplianceReports, their status and cron
 * schedule; the image scanners; image references as reports record them. The CRDs these shapes are checked against live in deploy/crds (crd.test.ts, with
 * the structural-schema checker in testing/, which only tests use).
 */
export * from './annotations.ts';
export * from './compliance.ts';
export * from './compliance-status.ts';
export * from './cron.ts';
export { formatGoDuration, parseGoDuration } from './duration.ts';
// Only the hashes: the go-spew and FNV pieces they are made of are tested in place.
export { computeHash, computePluginConfigHash, computeSpecHash } from './hash.ts';
export * from './image-ref.ts';
export * from './infra-checks.ts';
export * from './naming.ts';
export * from './owner-reports.ts';
export * from './resources.ts';
export { SCAN_FAILED_REASON, scanFailedEventName } from './scan-failed-event.ts';
export * from './scanners.ts';
export * from './schemas.ts';
export * from './summary.ts';
export * from './vulnerability-fields.ts';
