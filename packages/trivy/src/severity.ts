import { SECRET_SEVERITIES, SEVERITIES, type SecretSeverity, type Severity } from '@fleetscan/reports';

const KNOWN: ReadonlySet<string> = new Set(SEVERITIES);
const KNOWN_SECRET: ReadonlySet<string> = new Set(SECRET_SEVERITIES);

/** trivy only emits the five; anything else is what the CRDs call UNKNOWN. */
export function toSeverity(s: string): Severity {
  return KNOWN.has(s) ? (s as Severity) : 'UNKNOWN';
}

/** The ExposedSecretReport CRD has no UNKNOWN; built-in rules never use it, custom rules might. */
export function toSecretSeverity(s: string): SecretSeverity {
  return KNOWN_SECRET.has(s) ? (s as SecretSeverity) : 'LOW';
}
