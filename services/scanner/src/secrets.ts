import { isIgnored, type MatchSettings, rulesFromText, secretRulesFromYaml } from '@fleetscan/bus';
import type { ExposedSecret } from '@fleetscan/reports';

/**
 * The secrets an analysis found, as a request with these settings should see them. Secrets are
 * found once per image (they do not depend on the DB) and kept unfiltered; here the severity
 * filter and the ignore file apply, as `trivy image --severity --ignorefile` would: a
 * `.trivyignore` by rule ID, a `.trivyignore.yaml`'s `secrets` by rule ID and path, each with its
 * expiry (ignore-file.ts in @fleetscan/bus). (An ignore policy is not applied to stored secrets:
 * that would need trivy's Rego engine.)
 *
 * `analysedAs` and `image`: trivy names a secret found in the image config after the reference it
 * scanned; a request for the same digest under another name sees its own name there, as a report of
 * trivy-operator's would.
 */
export function filterSecrets(
  secrets: readonly ExposedSecret[],
  match: MatchSettings,
  now: Date,
  names?: { analysedAs?: string | undefined; image: string },
): ExposedSecret[] {
  const severities = match.severities ? new Set<string>(match.severities) : undefined;
  const rules = [
    ...(match.ignoreFile ? rulesFromText(match.ignoreFile, now) : []),
    ...(match.ignoreFileYaml ? secretRulesFromYaml(match.ignoreFileYaml, now) : []),
  ];
  const renamed = (s: ExposedSecret): ExposedSecret =>
    names?.analysedAs && s.target === names.analysedAs && names.image !== names.analysedAs
      ? { ...s, target: names.image }
      : s;
  return secrets
    .map(renamed)
    .filter((s) => (!severities || severities.has(s.severity)) && !isIgnored(rules, s.ruleID, s.target));
}
