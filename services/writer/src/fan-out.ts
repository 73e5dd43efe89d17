import { type ImageScanData, type ImageScanResult, ownerFilterMatches, type SbomEntry } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  type Bom,
  EXPOSED_SECRET_REPORT,
  type OwnerReportKind,
  SBOM_REPORT,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import {
  type BuildSettings,
  buildExposedSecretReport,
  buildVulnerabilityReport,
  forReference,
} from './build.ts';
import { buildSbomReport } from './build-sbom.ts';
import type { WritableReport } from './write-queue.ts';

/** One report of a fan-out, and the owner it is written for. */
export interface FanOutReport {
  kind: OwnerReportKind;
  report: WritableReport;
  owner: Owner;
}

/**
 * The owners an image result is written for: those in the result's namespace, and of those the ones
 * its owner filter names. Results are scoped to the requesting namespace, so another tenant's pull
 * secrets never produce (or fail) a report here; and to the owners its settings are for, so
 * workloads with settings of their own (a per-workload ignore policy) get only results made with them.
 */
export function fanOutOwners(
  r: Pick<ImageScanResult, 'namespace' | 'ownerFilter'>,
  usingImage: readonly Owner[],
): Owner[] {
  // Newest first: an urgent result is a new workload's, and under load each write takes a while; its
  // reports should not wait behind rewrites of the namespace's older owners (seen in a DB update: the
  // new owner's reports were among 9, written 1.4 s after the result).
  return usingImage
    .filter((o) => o.namespace === r.namespace && ownerFilterMatches(r.ownerFilter, o.name))
    .sort((a, b) => createdAt(b) - createdAt(a));
}

const createdAt = (o: Owner) => o.workload?.createdAtMs ?? Number.NEGATIVE_INFINITY;

/** The image's SBOM for SbomReports: the stored analysis and its BOM, read once per fan-out. */
export interface FanOutSbom {
  entry: Pick<SbomEntry, 'scanner' | 'analysedAt'>;
  bom: Bom;
}

/**
 * The reports an image result makes for `owners`, per owner × container running the image: a
 * VulnerabilityReport, when the scan looked for secrets an ExposedSecretReport, and when `sbom` is
 * given (SBOM generation on) an SbomReport. A failed scan makes none (scan-failures.ts): a report
 * without findings would read as a clean image.
 */
export function fanOutReports(
  r: ImageScanResult,
  owners: readonly Owner[],
  data: ImageScanData,
  settings: BuildSettings,
  sbom?: FanOutSbom,
): FanOutReport[] {
  const targets = owners.flatMap((owner) =>
    owner.containers.filter((c) => c.image === r.image).map((c) => ({ owner, container: c.name })),
  );
  const named = forReference(data, r.image);
  return targets.flatMap(({ owner, container }) => [
    {
      kind: VULNERABILITY_REPORT.kind,
      report: buildVulnerabilityReport(owner, container, named, r.scanConfigHash, settings, r.reportFields),
      owner,
    },
    ...(named.secrets
      ? [
          {
            kind: EXPOSED_SECRET_REPORT.kind,
            report: buildExposedSecretReport(owner, container, named, settings),
            owner,
          },
        ]
      : []),
    ...sbomReports(owner, container),
  ]);

  function sbomReports(owner: Owner, container: string): FanOutReport[] {
    const report = sbom && buildSbomReport(owner, container, named, sbom.entry, sbom.bom, settings);
    return report ? [{ kind: SBOM_REPORT.kind, report, owner }] : [];
  }
}

/**
 * Runs `fn` on every item, at most `concurrency` at once. After a failure no further item starts;
 * it resolves once every started call ended, and then rejects with the first failure, so no write
 * outlives the message it was for.
 */
export async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed) throw failed.err;
}
