/** Severities as trivy prints them and the CRDs enumerate them. */
export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

const KNOWN: ReadonlySet<string> = new Set(SEVERITIES);

/** trivy only emits the five; anything else is what the CRDs call UNKNOWN. */
export function toSeverity(s: string): Severity {
  return KNOWN.has(s) ? (s as Severity) : 'UNKNOWN';
}

export type SecretSeverity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

/** The ExposedSecretReport CRD has no UNKNOWN; built-in rules never use it, custom rules might. */
export function toSecretSeverity(s: string): SecretSeverity {
  return s === 'CRITICAL' || s === 'HIGH' || s === 'MEDIUM' ? s : 'LOW';
}
