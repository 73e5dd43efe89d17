/**
 * @fleetscan/reports: trivy-operator-compatible report shapes, names, labels, hashes and summaries.
 * The CRDs these shapes are checked against live in deploy/crds.
 */
export * from './annotations.ts';
export * from './duration.ts';
export * from './hash.ts';
export * from './image-ref.ts';
export * from './naming.ts';
export * from './owner-reports.ts';
export * from './resources.ts';
export * from './scanners.ts';
export * from './schemas.ts';
export * from './structural.ts';
export * from './summary.ts';
