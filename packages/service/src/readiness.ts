import type { HealthSource } from './http.ts';

/**
 * Readiness assembled from named checks that components flip as they come
 * and go (a watch that lost its stream, a NATS connection that dropped).
 */
export interface Readiness extends HealthSource {
  set(name: string, ok: boolean, reason?: string): void;
}

export function createReadiness(): Readiness {
  const checks = new Map<string, { ok: boolean; reason: string }>();
  return {
    set(name, ok, reason) {
      checks.set(name, { ok, reason: reason ?? (ok ? 'ok' : 'not ready') });
    },
    healthy: () => true,
    ready() {
      const reasons = [...checks].filter(([, c]) => !c.ok).map(([n, c]) => `${n}: ${c.reason}`);
      return {
        ok: checks.size > 0 && reasons.length === 0,
        reasons: checks.size ? reasons : ['starting'],
        checks: [...checks].map(([name, c]) => ({ name, ok: c.ok, reason: c.reason })),
      };
    },
  };
}
