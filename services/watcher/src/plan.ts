import type { Owner, ReportKind, ReportRef } from '@fleetscan/inventory';
import {
  CONFIG_AUDIT_REPORT,
  configAuditReportName,
  containerReportName,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { SettingsHashes } from './settings.ts';

export interface OwnerPlan {
  /** The ConfigAuditReport is missing or stale. */
  config: boolean;
  /** Containers whose VulnerabilityReport is missing or stale, with their image. */
  images: { container: string; image: string }[];
}

export type ReportLookup = (kind: ReportKind, namespace: string, name: string) => ReportRef | undefined;

/**
 * What an owner lacks, by trivy-operator's rules: a report is current when it
 * exists for this owner (uid) with the owner's pod spec hash (and, for
 * config audits, the current plugin config hash; for vulnerability reports,
 * the current scan settings).
 */
export function planOwner(owner: Owner, lookup: ReportLookup, hashes: SettingsHashes): OwnerPlan {
  const cfg = lookup(
    CONFIG_AUDIT_REPORT.kind,
    owner.namespace,
    configAuditReportName(owner.kind, owner.name),
  );
  const config = !(
    cfg &&
    cfg.ownerUid === owner.uid &&
    cfg.specHash === owner.specHash &&
    cfg.pluginConfigHash === hashes.pluginConfigHash
  );
  const images: OwnerPlan['images'] = [];
  for (const c of owner.containers) {
    if (!c.image) continue;
    const r = lookup(
      VULNERABILITY_REPORT.kind,
      owner.namespace,
      containerReportName(owner.kind, owner.name, c.name),
    );
    const current =
      r &&
      r.ownerUid === owner.uid &&
      r.specHash === owner.specHash &&
      (r.scanConfigHash === undefined || r.scanConfigHash === hashes.scanConfigHash);
    if (!current) images.push({ container: c.name, image: c.image });
  }
  return { config, images };
}
