import { computeSpecHash, type Severity, SeveritySchema } from '@fleetscan/reports';
import { z } from 'zod';

/**
 * How a check is named in ConfigAuditReports. `short` (the default) is the form trivy-operator
 * wrote for years and fleetscan's reports always showed: `KSV003`, `KSV110`, derived from the
 * check's ID (`KSV-0003`). `trivy-operator` is what trivy-operator v0.32 writes with today's
 * checks: the check's first alias, else its ID (`AVD-KSV-0003`).
 */
export const CHECK_ID_FORMATS = ['short', 'trivy-operator'] as const;
export const CheckIdFormatSchema = z.enum(CHECK_ID_FORMATS);
export type CheckIdFormat = z.infer<typeof CheckIdFormatSchema>;

/** How a cluster wants its config audits reported; the watcher sends them with each request. */
export const ConfigAuditSettingsSchema = z.object({
  checkIds: CheckIdFormatSchema.optional(),
  /** Only checks of these severities are reported (trivy-operator's trivy.severity); all if unset. */
  severities: z.array(SeveritySchema).optional(),
});
export type ConfigAuditSettings = z.infer<typeof ConfigAuditSettingsSchema>;

export interface CanonicalConfigAuditSettings {
  checkIds: CheckIdFormat;
  severities?: Severity[];
}

/** One spelling per meaning: the default ID format written out, severities sorted and unique. */
export function canonicalConfigAuditSettings(s: ConfigAuditSettings): CanonicalConfigAuditSettings {
  const severities = s.severities && s.severities.length > 0 ? [...new Set(s.severities)].sort() : undefined;
  return { checkIds: s.checkIds ?? 'short', ...(severities && { severities }) };
}

/**
 * trivy-operator's `plugin-config-hash` label on ConfigAuditReports: a report made with other
 * checks or other settings is refreshed. Every canonical setting takes part. `checks` names the
 * check set (trivy's embedded checks) and the ID derivation: it changed from `embedded` when
 * the short IDs stopped coming from Rego package names (KSV0125 became KSV125), so reports
 * written before are refreshed once.
 */
export function pluginConfigHash(c: CanonicalConfigAuditSettings): string {
  return computeSpecHash({ audit: 'trivy-config', checks: 'embedded/ids-from-metadata', ...c });
}
