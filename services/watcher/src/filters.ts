import type { ContainerRef, Owner } from '@fleetscan/inventory';
import { type AuditReportKind, auditReports, type ReportSubject } from '@fleetscan/reports';
import { globToRegExp } from '@fleetscan/service';

/** What to scan, from configuration (documented in the README). */
export interface ScopeConfig {
  /** Namespace globs to include; empty means all. Cluster-scoped objects are not in a namespace. */
  namespacesInclude: readonly string[];
  namespacesExclude: readonly string[];
  /** Owner kinds to report on: workload kinds (their images) and every kind audited. */
  kinds: readonly string[];
  /** Kinds whose objects get audit reports (supportedConfigAuditKinds, `Workload` expanded). */
  auditKinds: readonly string[];
  /** InfraAssessmentReports for control-plane components (infraAssessmentScannerEnabled). */
  infra: boolean;
  /** `key` or `key=value`: owners carrying any of these labels are skipped. */
  skipLabels: readonly string[];
  /** Image globs never scanned (matched against the image as written in the pod spec). */
  excludeImages: readonly string[];
  initContainers: boolean;
  ephemeralContainers: boolean;
}

export function createScope(cfg: ScopeConfig) {
  const inc = cfg.namespacesInclude.map(globToRegExp);
  const exc = cfg.namespacesExclude.map(globToRegExp);
  const images = cfg.excludeImages.map(globToRegExp);
  const kinds = new Set(cfg.kinds);
  const audited = new Set(cfg.auditKinds);
  const labels = cfg.skipLabels.map((l) => {
    const i = l.indexOf('=');
    return i < 0 ? { key: l, value: undefined } : { key: l.slice(0, i), value: l.slice(i + 1) };
  });
  const namespaceInScope = (ns: string) =>
    (inc.length === 0 || inc.some((r) => r.test(ns))) && !exc.some((r) => r.test(ns));
  return {
    namespaceInScope,
    /**
     * Whether the owner is reported on at all. Namespace filters do not apply to cluster-scoped
     * objects (trivy-operator's install-mode predicate is not applied to them either).
     */
    ownerInScope(o: { kind: string; namespace: string; labels: Readonly<Record<string, string>> }): boolean {
      if (!kinds.has(o.kind) || (o.namespace !== '' && !namespaceInScope(o.namespace))) return false;
      return !labels.some(
        ({ key, value }) => key in o.labels && (value === undefined || o.labels[key] === value),
      );
    },
    /** The audit reports the owner should have: none when its kind is not audited. */
    auditReports(o: ReportSubject): { kind: AuditReportKind; name: string }[] {
      return audited.has(o.kind) ? auditReports(o, { infra: cfg.infra }) : [];
    },
    /** The containers whose images are scanned. */
    containers(o: Pick<Owner, 'containers'>): ContainerRef[] {
      return o.containers.filter(
        (c) =>
          c.image !== '' &&
          (c.kind !== 'initContainer' || cfg.initContainers) &&
          (c.kind !== 'ephemeralContainer' || cfg.ephemeralContainers) &&
          !images.some((r) => r.test(c.image)),
      );
    },
  };
}
export type Scope = ReturnType<typeof createScope>;
