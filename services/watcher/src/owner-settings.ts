import {
  type ConfigAuditSettings,
  canonicalConfigAuditSettings,
  canonicalScanSettings,
  type OwnerFilter,
  ownerFilterKey,
  pluginConfigHash,
  type ScanSettings,
  scanConfigHash,
} from '@fleetscan/bus';
import type { ImageScanner } from '@fleetscan/reports';
import { type IgnorePolicies, resolveIgnorePolicy } from './ignore-policies.ts';
import { requestVariant } from './requests.ts';

/** How an owner's images are scanned: the request's settings, and the hash its reports record. */
export interface OwnerScan {
  settings: ScanSettings;
  /** scanConfigHash of scanners + settings: a VulnerabilityReport made with another is refreshed. */
  scanConfigHash: string;
  /** Absent when every owner of the namespace is scanned alike. */
  ownerFilter?: OwnerFilter;
  /**
   * Tells apart the requests of one image in one namespace: the settings' hash and, when owners of
   * the namespace differ, which of them the request is for (two keys may hold the same policy).
   */
  variant: string;
}

export interface OwnerSettings {
  /** The scan of an owner's images, by its namespace and name (per-namespace and per-workload keys). */
  of(owner: { namespace: string; name: string }): OwnerScan;
  /** How config audits are reported (check ID format, severities): sent with each audit. */
  readonly configAudit: ConfigAuditSettings;
  /** Config audits: trivy-operator's `plugin-config-hash` label on ConfigAuditReports, of `configAudit`. */
  readonly pluginConfigHash: string;
  readonly secrets: boolean;
}

/**
 * The watcher's settings, resolved per owner: the cluster's scanners and settings, with the ignore
 * policy of the most specific key that applies (ignore-policies.ts). Few distinct results exist
 * (one per policy key and owner filter), so they are computed once each.
 */
export function createOwnerSettings(opts: {
  scanners: readonly ImageScanner[];
  settings: ScanSettings;
  ignorePolicies: IgnorePolicies;
  /** Unset: trivy-operator's defaults (short check IDs, every severity). */
  configAudit?: ConfigAuditSettings;
}): OwnerSettings {
  const configAudit = opts.configAudit ?? {};
  const scans = new Map<string, OwnerScan>();
  const noPolicies = opts.ignorePolicies.keys.length === 0;
  const scanOf = (policy: string | undefined, filter: OwnerFilter | undefined): OwnerScan => {
    const id = `${policy ?? ''}\n${ownerFilterKey(filter)}`;
    const known = scans.get(id);
    if (known) return known;
    const { ignorePolicy: _global, ...rest } = opts.settings;
    const settings: ScanSettings = { ...rest, ...(policy !== undefined && { ignorePolicy: policy }) };
    const hash = scanConfigHash(canonicalScanSettings(opts.scanners, settings));
    const variant = requestVariant({ scanConfigHash: hash, ...(filter && { ownerFilter: filter }) });
    const scan = { settings, scanConfigHash: hash, ...(filter && { ownerFilter: filter }), variant };
    scans.set(id, scan);
    return scan;
  };
  // A policy given as IGNORE_POLICY alone is the global key.
  const global = opts.settings.ignorePolicy;
  return {
    of(owner) {
      if (noPolicies) return scanOf(global, undefined);
      const { key, ownerFilter } = resolveIgnorePolicy(opts.ignorePolicies, owner.namespace, owner.name);
      return scanOf(key?.policy ?? global, ownerFilter);
    },
    configAudit,
    pluginConfigHash: pluginConfigHash(canonicalConfigAuditSettings(configAudit)),
    secrets: opts.scanners.includes('secret'),
  };
}
