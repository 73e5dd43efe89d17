import type { Check } from './schemas.ts';

/**
 * trivy-operator's split of one resource's checks (pkg/configauditreport/controller helper.go
 * evaluate, resource.go infraCheck): infra checks (IDs KCV…, AVD-KCV…, from trivy's
 * kubernetes control-plane rules) go to the resource's InfraAssessmentReport, never to its config
 * audit; everything else is the config audit's. (Upstream also skips infra IDs starting with N/A,
 * which its own prefix test makes unreachable.)
 */
export function isInfraCheckId(id: string): boolean {
  return id.startsWith('KCV') || id.startsWith('AVD-KCV');
}

export function partitionInfraChecks(checks: readonly Check[]): { audit: Check[]; infra: Check[] } {
  const audit: Check[] = [];
  const infra: Check[] = [];
  for (const c of checks) {
    (isInfraCheckId(c.checkID) ? infra : audit).push(c);
  }
  return { audit, infra };
}
