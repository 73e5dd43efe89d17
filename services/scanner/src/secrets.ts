import type { MatchSettings } from '@fleetscan/bus';
import type { ExposedSecret } from '@fleetscan/reports';

/**
 * The secrets an analysis found, as a request with these settings should see them. Secrets are
 * found once per image (they do not depend on the DB) and kept unfiltered; here the severity
 * filter and the ignore file's rule IDs apply, as `trivy image --severity --ignorefile` would.
 * (An ignore policy is not applied to stored secrets: that would need trivy's Rego engine.)
 */
export function filterSecrets(
  secrets: readonly ExposedSecret[],
  match: MatchSettings,
  now: Date,
): ExposedSecret[] {
  const severities = match.severities ? new Set<string>(match.severities) : undefined;
  const ignored = match.ignoreFile ? ignoredIds(match.ignoreFile, now) : new Set<string>();
  return secrets.filter((s) => (!severities || severities.has(s.severity)) && !ignored.has(s.ruleID));
}

/**
 * IDs a .trivyignore (text format) ignores now: one per line, `#` comments, optional
 * `exp:YYYY-MM-DD` after which the line no longer applies (trivy's pkg/result/ignore.go).
 */
export function ignoredIds(ignoreFile: string, now: Date): Set<string> {
  const ids = new Set<string>();
  for (const raw of ignoreFile.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [id, ...rest] = line.split(/\s+/);
    if (!id) continue;
    const exp = rest.find((f) => f.startsWith('exp:'))?.slice(4);
    if (exp) {
      const at = Date.parse(`${exp}T00:00:00Z`);
      if (Number.isNaN(at) || at < now.getTime()) continue;
    }
    ids.add(id);
  }
  return ids;
}
