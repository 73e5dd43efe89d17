import type { ContainerRef, Owner, ReportRef } from '@fleetscan/inventory';
import {
  type AuditReportKind,
  EXPOSED_SECRET_REPORT,
  MANAGED_BY_FLEETSCAN,
  type OwnerReportKind,
  ownerReportNames,
  VULNERABILITY_REPORT,
} from '@fleetscan/reports';
import type { SettingsHashes } from './settings.ts';

/**
 * Why a report must be (re)produced. `missing` and `spec` are urgent (the
 * workload has no current report); the others refresh a report that exists
 * and are sent in bounded batches. `adopt`: the report was written by
 * another tool (trivy-operator, before fleetscan took over); it stands until
 * fleetscan's own replaces it.
 */
export type Reason = 'missing' | 'spec' | 'adopt' | 'settings' | 'ttl' | 'db';

export interface ImageNeed {
  container: string;
  image: string;
  reason: Reason;
  /** The digest of the report being refreshed: re-match without asking the registry. */
  digest?: string;
  /** A cached scan older than this is stale (TTL). */
  notBefore?: string;
}

export interface OwnerPlan {
  config?: Reason;
  images: ImageNeed[];
}

export type ReportLookup = (kind: OwnerReportKind, namespace: string, name: string) => ReportRef | undefined;

export interface PlanContext {
  hashes: SettingsHashes;
  nowMs: number;
  /** The scanner fleet's DB version; vulnerability reports matched against another one are refreshed. */
  dbUpdatedAt?: string;
  /** Secret scanning on: an ExposedSecretReport is expected per container too. */
  secrets: boolean;
}

const expired = (r: ReportRef, nowMs: number) =>
  r.ttlSeconds !== undefined && r.updatedAtMs !== undefined && nowMs >= r.updatedAtMs + r.ttlSeconds * 1000;

/** Why an audit report must be produced again, if it must; the checks of `planOwner` in order. */
function auditNeed(r: ReportRef | undefined, owner: Owner, ctx: PlanContext): Reason | undefined {
  if (!r || r.ownerUid !== owner.uid) return 'missing';
  if (r.specHash !== owner.specHash) return 'spec';
  if (r.managedBy !== MANAGED_BY_FLEETSCAN) return 'adopt';
  if (r.pluginConfigHash !== ctx.hashes.pluginConfigHash) return 'settings';
  if (expired(r, ctx.nowMs)) return 'ttl';
  return undefined;
}

const URGENCY: readonly Reason[] = ['missing', 'spec', 'adopt', 'settings', 'ttl'];

/**
 * What an owner lacks, by trivy-operator's rules plus fleetscan's refresh
 * triggers: a report is current when it exists for this owner (uid) with its
 * spec hash and current settings, has not outlived its TTL, and (for
 * vulnerabilities) was matched against the current DB. An image whose scans
 * fail has no report (the writer writes none): its requests are held by the
 * failure record until its retry time (failure-holds.ts), so there is no loop.
 * `audits` are the audit reports the owner should have (a config audit, an
 * RBAC or infra assessment): one audit produces them all, so the most urgent
 * reason among them is the config need.
 */
export function planOwner(
  owner: Owner,
  containers: readonly ContainerRef[],
  audits: readonly { kind: AuditReportKind; name: string }[],
  lookup: ReportLookup,
  ctx: PlanContext,
): OwnerPlan {
  const plan: OwnerPlan = { images: [] };
  const names = ownerReportNames(owner, containers);
  for (const a of audits) {
    const need = auditNeed(lookup(a.kind, owner.namespace, a.name), owner, ctx);
    if (need && (!plan.config || URGENCY.indexOf(need) < URGENCY.indexOf(plan.config))) plan.config = need;
  }

  for (const { container: c, name } of names.containers) {
    const vuln = lookup(VULNERABILITY_REPORT.kind, owner.namespace, name);
    const secret = ctx.secrets ? lookup(EXPOSED_SECRET_REPORT.kind, owner.namespace, name) : undefined;
    const need = (reason: Reason, extra: Partial<ImageNeed> = {}) =>
      plan.images.push({ container: c.name, image: c.image, reason, ...extra });
    // An error report (zero findings, fleetscan.io/scan-error) was written by writers before failed
    // scans stopped making reports: it looks clean, so it counts as missing. The writer deletes it
    // when the image fails again, and the failure record holds the requests meanwhile (no loop).
    if (!vuln || vuln.ownerUid !== owner.uid || vuln.scanError !== undefined) need('missing');
    else if (vuln.specHash !== owner.specHash) need('spec');
    else if (ctx.secrets && (!secret || secret.ownerUid !== owner.uid)) need('missing');
    // Without the digest: another tool's artifact.digest may be the config's (trivy-operator's
    // ImageID), which is no manifest to look up.
    else if (vuln.managedBy !== MANAGED_BY_FLEETSCAN) need('adopt');
    else if (vuln.scanConfigHash !== undefined && vuln.scanConfigHash !== ctx.hashes.scanConfigHash) {
      need('settings', digestOf(vuln));
    } else if (expired(vuln, ctx.nowMs)) {
      // Re-resolve the tag (a re-pushed tag is noticed); a cached scan from before expiry is re-matched.
      need('ttl', {
        notBefore: new Date((vuln.updatedAtMs ?? 0) + (vuln.ttlSeconds ?? 0) * 1000).toISOString(),
      });
    } else if (ctx.dbUpdatedAt && vuln.dbUpdatedAt && vuln.dbUpdatedAt !== ctx.dbUpdatedAt) {
      need('db', digestOf(vuln));
    }
  }
  return plan;
}

function digestOf(r: ReportRef): Partial<ImageNeed> {
  return r.artifact?.digest ? { digest: r.artifact.digest } : {};
}

export const isUrgent = (r: Reason) => r === 'missing' || r === 'spec';
